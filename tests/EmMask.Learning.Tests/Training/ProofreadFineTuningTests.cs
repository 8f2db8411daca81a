using EmMask.Core.Inference;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;
using EmMask.Learning.Inference;
using EmMask.Learning.Preprocessing;
using EmMask.Learning.Training;

namespace EmMask.Learning.Tests.Training;

/// <summary>Fine-tuning from proofread sections: only the checked voxels count, the model appears atomically, bad input loses nothing.</summary>
public class ProofreadFineTuningTests
{
    private static readonly string Init = TestNpy.Fixture("MonaiUNet", "small_res2.pt");

    private static FineTuneOptions Options(int steps) => new()
    {
        Model = Init, Steps = steps, Patch = 16, Batch = 2, LearningRate = 1e-2, Seed = 5, Augment = "none", Scale = 1,
    };

    // A bright, speckled ball of "tissue" in dark, smooth "resin" (uint8), and its truth.
    private static (Volume<byte> Image, Volume<byte> Truth) Ball(Shape3 shape, int seed)
    {
        var image = new Volume<byte>(shape);
        var truth = new Volume<byte>(shape);
        var rng = new Random(seed);
        double cz = shape.Z / 2.0, cy = shape.Y / 2.0, cx = shape.X / 2.0, r = 0.35 * shape.X;
        for (int z = 0; z < shape.Z; z++)
            for (int y = 0; y < shape.Y; y++)
                for (int x = 0; x < shape.X; x++)
                {
                    bool tissue = ((y - cy) * (y - cy)) + ((x - cx) * (x - cx)) + (0.25 * (z - cz) * (z - cz)) < r * r;
                    image[z, y, x] = (byte)(tissue ? 150 + rng.Next(100) : 40 + rng.Next(10));
                    truth[z, y, x] = (byte)(tissue ? 1 : 0);
                }

        return (image, truth);
    }

    private static Volume<byte> ProofreadSection(Volume<byte> truth, int section)
    {
        var labels = truth.Like<byte>();
        labels.Span.Fill(FineTuneOptions.NotProofread);
        var s = truth.Shape;
        int plane = s.Y * s.X;
        truth.Span.Slice(section * plane, plane).CopyTo(labels.Span.Slice(section * plane, plane));
        return labels;
    }

    // Mean |p - truth| of a model over one section.
    private static double SectionError(string model, Volume<byte> image, Volume<byte> truth, int section)
    {
        using var predictor = UNetPatchPredictor.FromFile(model, "cpu");
        var input = IntensityNormalization.ToNormalizedFloat(image);
        var p = new float[input.Span.Length];
        predictor.Predict(input.Span, 1, input.Shape, p);
        int plane = image.Shape.Y * image.Shape.X;
        double error = 0;
        for (int i = section * plane; i < (section + 1) * plane; i++)
        {
            error += Math.Abs(p[i] - truth.Span[i]);
        }

        return error / plane;
    }

    [Fact]
    public void Fine_tuning_on_one_proofread_section_fits_it_and_writes_the_model_and_its_log_only()
    {
        var dir = Directory.CreateTempSubdirectory("emmask-finetune-");
        try
        {
            var (image, truth) = Ball(new Shape3(16, 32, 32), 1);
            string target = Path.Combine(dir.FullName, "tuned.safetensors");
            var reports = new List<ProgressReport>();

            var result = ProofreadFineTuning.Run(image, ProofreadSection(truth, 8), target, Options(40), new Sync(reports.Add));

            Assert.Equal(target, result.ModelPath);
            Assert.Equal(40, result.Steps);
            Assert.Equal(1, result.Scale);
            Assert.Equal(32L * 32, result.ProofreadVoxels);
            Assert.Equal(40, reports.Count);
            Assert.Equal(1.0, reports[^1].Fraction);
            Assert.StartsWith("fine-tuning (step 40 of 40", reports[^1].Stage);
            Assert.Equal(["tuned.safetensors", "tuned.training_log.json"], dir.GetFileSystemInfos().Select(f => f.Name).Order());
            double before = SectionError(Init, image, truth, 8), after = SectionError(target, image, truth, 8);
            Assert.True(after < 0.5 * before, $"mean |p - truth| on the proofread section {before:F3} -> {after:F3}");
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void Only_the_proofread_voxels_count()
    {
        var dir = Directory.CreateTempSubdirectory("emmask-finetune-");
        try
        {
            // The same proofread section, and everything else labelled with the opposite class: unlabelled voxels must not change the run.
            var (image, truth) = Ball(new Shape3(16, 32, 32), 2);
            var labels = ProofreadSection(truth, 8);
            string a = Path.Combine(dir.FullName, "a.safetensors"), b = Path.Combine(dir.FullName, "b.safetensors");
            ProofreadFineTuning.Run(image, labels, a, Options(3) with { Seed = 9 });
            ProofreadFineTuning.Run(image, labels, b, Options(3) with { Seed = 9 });
            var flipped = labels.Like<byte>();
            for (int i = 0; i < flipped.Span.Length; i++)
            {
                flipped.Span[i] = labels.Span[i] == FineTuneOptions.NotProofread ? FineTuneOptions.NotProofread : (byte)(1 - labels.Span[i]);
            }

            string c = Path.Combine(dir.FullName, "c.safetensors");
            ProofreadFineTuning.Run(image, flipped, c, Options(3) with { Seed = 9 });
            Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
            Assert.NotEqual(File.ReadAllBytes(a), File.ReadAllBytes(c));
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void Bad_input_is_refused_before_training_and_leaves_the_target_as_it_was()
    {
        var dir = Directory.CreateTempSubdirectory("emmask-finetune-");
        try
        {
            var (image, truth) = Ball(new Shape3(16, 32, 32), 3);
            string target = Path.Combine(dir.FullName, "model.safetensors");
            File.WriteAllText(target, "the user's earlier model");
            var none = truth.Like<byte>();
            none.Span.Fill(FineTuneOptions.NotProofread);
            var seven = ProofreadSection(truth, 4);
            seven[4, 0, 0] = 7;

            var e1 = Assert.Throws<ArgumentException>(() => ProofreadFineTuning.Run(image, none, target, Options(2)));
            var e2 = Assert.Throws<ArgumentException>(() => ProofreadFineTuning.Run(image, seven, target, Options(2)));
            var e3 = Assert.Throws<ArgumentException>(() => ProofreadFineTuning.Run(image, truth, Path.Combine(dir.FullName, "model.pt"), Options(2)));
            var e4 = Assert.Throws<ArgumentException>(() => ProofreadFineTuning.Run(image, truth, Path.Combine(dir.FullName, "no", "m.safetensors"), Options(2)));
            var e5 = Assert.Throws<ArgumentException>(() => ProofreadFineTuning.Run(image, new Volume<byte>(new Shape3(16, 32, 31)), target, Options(2)));
            var e6 = Assert.Throws<ArgumentOutOfRangeException>(() => ProofreadFineTuning.Run(image, truth, target, Options(2) with { Patch = 20 }));

            Assert.Contains("No voxel is proofread", e1.Message);
            Assert.Contains("found 7", e2.Message);
            Assert.Contains(".safetensors", e3.Message);
            Assert.Contains("does not exist", e4.Message);
            Assert.Contains("shape", e5.Message);
            Assert.Equal("patch", e6.ParamName);
            Assert.Equal("the user's earlier model", File.ReadAllText(target));
            Assert.Equal(["model.safetensors"], dir.GetFileSystemInfos().Select(f => f.Name));
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void Cancelled_run_writes_nothing_and_removes_its_work_folder()
    {
        var dir = Directory.CreateTempSubdirectory("emmask-finetune-");
        try
        {
            var (image, truth) = Ball(new Shape3(16, 32, 32), 4);
            string target = Path.Combine(dir.FullName, "model.safetensors");
            File.WriteAllText(target, "the user's earlier model");
            using var cts = new CancellationTokenSource();

            Assert.ThrowsAny<OperationCanceledException>(() =>
                ProofreadFineTuning.Run(image, ProofreadSection(truth, 8), target, Options(50), new Sync(r => { if (r.Fraction >= 0.04) cts.Cancel(); }), cts.Token));

            Assert.Equal("the user's earlier model", File.ReadAllText(target));
            Assert.Equal(["model.safetensors"], dir.GetFileSystemInfos().Select(f => f.Name));
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void The_working_scale_is_the_masks_and_in_plane_for_stacks_masked_section_by_section()
    {
        var dir = Directory.CreateTempSubdirectory("emmask-finetune-");
        try
        {
            // 8 nm isotropic: the U-Net mask runs at scale 2, so fine-tuning does too.
            var (image, truth) = Ball(new Shape3(32, 64, 64), 5);
            image.VoxelSize = new VoxelSize(0.008, 0.008, 0.008);
            var result = ProofreadFineTuning.Run(image, ProofreadSection(truth, 16), Path.Combine(dir.FullName, "m.safetensors"), Options(1) with { Scale = null });
            Assert.Equal(WorkingScale.FromVoxelSize(image.VoxelSize, image.Shape), result.Scale);
            Assert.Equal(2, result.Scale);

            // Serial sections keep their sections: in-plane averaging only.
            var t = new TrainingVolume(new Volume<float>(new Shape3(3, 8, 8)), new Volume<byte>(new Shape3(3, 8, 8)), null, "s");
            Assert.Equal(new Shape3(3, 4, 4), t.Downsampled(2, inPlaneOnly: true).Image.Shape);
            Assert.Equal(new Shape3(2, 4, 4), t.Downsampled(2).Image.Shape);

            // One proofread section of two averaged in z: labelled with half-labelled blocks, unlabelled without.
            var labels = new Volume<byte>(new Shape3(2, 2, 2));
            labels.Span.Fill(1);
            var region = new Volume<byte>(new Shape3(2, 2, 2));
            region.Span[..4].Fill(1);
            var half = new TrainingVolume(new Volume<float>(new Shape3(2, 2, 2)), labels, region, "h");
            Assert.Equal(0, half.Downsampled(2).LabelledRegion!.Span[0]);
            Assert.Equal(1, half.Downsampled(2, halfLabelled: true).LabelledRegion!.Span[0]);
            Assert.Equal(1, half.Downsampled(2, halfLabelled: true).Labels.Span[0]);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void A_few_proofread_sections_of_a_long_stack_train_on_their_part_normalised_as_the_whole()
    {
        var dir = Directory.CreateTempSubdirectory("emmask-finetune-");
        try
        {
            var (image, truth) = Ball(new Shape3(96, 32, 32), 6);
            var result = ProofreadFineTuning.Run(image, ProofreadSection(truth, 50), Path.Combine(dir.FullName, "m.safetensors"), Options(1));
            Assert.Equal(new Shape3(50 + 16 + 1 - (50 - 16), 32, 32), result.TrainedShape); // sections 34..66
            var early = ProofreadFineTuning.Run(image, ProofreadSection(truth, 3), Path.Combine(dir.FullName, "e.safetensors"), Options(1));
            Assert.Equal(new Shape3(3 + 16 + 1, 32, 32), early.TrainedShape);                  // sections 0..19

            // The percentiles of the whole volume, without a float copy of it, are those of its float copy.
            var u16 = new Volume<ushort>(new Shape3(40, 300, 300));
            var rng = new Random(2);
            for (int i = 0; i < u16.Span.Length; i++)
            {
                u16.Span[i] = (ushort)rng.Next(65536);
            }

            Assert.Equal(IntensityNormalization.Percentiles(IntensityNormalization.ToFloat(u16).Span), IntensityNormalization.Percentiles(u16));
            Assert.Equal(IntensityNormalization.Percentiles(IntensityNormalization.ToFloat(image).Span), IntensityNormalization.Percentiles(image));
        }
        finally { dir.Delete(true); }
    }

    private sealed class Sync(Action<ProgressReport> report) : IProgress<ProgressReport>
    {
        public void Report(ProgressReport value) => report(value);
    }
}
