using EmMask.Core.Inference;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Inference;

/// <summary>The U-Net's 2-D fall-back: thin and anisotropic stacks predicted section by section.</summary>
public class SectionwiseInferenceTests
{
    [Theory]
    [InlineData(1, 1, 1, 1, true)]    // one section
    [InlineData(2, 1, 1, 1, true)]    // fewer sections than the smallest window
    [InlineData(15, 1, 1, 1, true)]
    [InlineData(16, 1, 1, 1, false)]
    [InlineData(32, 40, 4, 4, true)]  // ssTEM: z spacing 10x the pixel
    [InlineData(32, 30, 8, 8, true)]  // ATUM: 3.75x
    [InlineData(32, 16, 8, 8, true)]  // exactly 2x
    [InlineData(32, 25, 20, 20, false)]
    [InlineData(32, 10, 10, 10, false)]
    [InlineData(32, 0.04, 0.004, 0.004, true)] // µm, as napari layers
    public void Auto_rule_follows_depth_and_anisotropy(int z, double vz, double vy, double vx, bool sections) =>
        Assert.Equal(sections, StackModes.PrefersSections(new Shape3(z, 64, 64), new VoxelSize(vz, vy, vx), 16));

    [Theory]
    [InlineData(1, 37, 100)]
    [InlineData(2, 40, 40)]
    [InlineData(3, 17, 70)]
    public void Identity_predictor_reproduces_thin_stacks_and_keeps_their_shape(int z, int y, int x)
    {
        var input = SlidingWindowInfererTests.Random(new Shape3(z, y, x), seed: z * 7 + y);
        var predictor = new RecordingPredictor();
        var result = SlidingWindowInferer.Run(input, predictor, new SlidingWindowOptions(new Shape3(64, 64, 64), 0.25, 2));
        Assert.Equal(input.Shape, result.Probabilities.Shape);
        for (int i = 0; i < input.Span.Length; i++)
        {
            Close(input.Span[i], result.Probabilities.Span[i], 1e-5);
        }

        // Each window is a stack of 32 copies, 96 wide at most (64³ has about as many voxels as 32×96×96).
        Assert.All(predictor.Patches, p => Assert.Equal(32, p.Z));
        Assert.All(predictor.Patches, p => Assert.True(p.Y <= 96 && p.X <= 96 && p.Y % 16 == 0 && p.X % 16 == 0));
        Assert.Equal(result.Windows, predictor.Windows);
    }

    [Fact]
    public void Sections_do_not_see_their_neighbours()
    {
        // A predictor that answers the mean over z of its window: on a 2-section stack a 3-D pass mixes the sections
        // (and the zero padding), section-wise prediction gives each section its own value.
        var input = new Volume<float>(new Shape3(2, 32, 32));
        input.Span[..1024].Fill(0.2f);
        input.Span[1024..].Fill(0.8f);
        var result = SlidingWindowInferer.Run(input, new RecordingPredictor(zMean: true), new SlidingWindowOptions(new Shape3(16, 32, 32)));
        Close(0.2f, result.Probabilities[0, 10, 10], 1e-5);
        Close(0.8f, result.Probabilities[1, 10, 10], 1e-5);

        var volume = SlidingWindowInferer.Run(input, new RecordingPredictor(zMean: true), new SlidingWindowOptions(new Shape3(16, 32, 32), Stack: StackMode.Volume));
        Close((0.2f + 0.8f) / 16, volume.Probabilities[0, 10, 10], 1e-5); // 14 of 16 planes are padding
    }

    [Fact]
    public void Anisotropic_stacks_go_section_by_section_and_forcing_works_both_ways()
    {
        var input = SlidingWindowInfererTests.Random(new Shape3(20, 32, 32), 4);
        input.VoxelSize = new VoxelSize(40, 4, 4);
        var sections = new RecordingPredictor();
        SlidingWindowInferer.Run(input, sections, new SlidingWindowOptions(new Shape3(32, 32, 32)));
        Assert.Equal(20, sections.Windows);

        var volume = new RecordingPredictor();
        SlidingWindowInferer.Run(input, volume, new SlidingWindowOptions(new Shape3(32, 32, 32), Stack: StackMode.Volume));
        Assert.Equal(1, volume.Windows);

        input.VoxelSize = VoxelSize.Isotropic;
        var forced = new RecordingPredictor();
        SlidingWindowInferer.Run(input, forced, new SlidingWindowOptions(new Shape3(32, 32, 32), Stack: StackMode.Sections));
        Assert.Equal(20, forced.Windows);
    }

    [Fact]
    public void Working_scale_is_in_plane_only()
    {
        // Smooth in-plane ramps, different per section: scale 2 halves y and x, never z.
        var input = new Volume<float>(new Shape3(2, 64, 64));
        for (int z = 0; z < 2; z++)
            for (int y = 0; y < 64; y++)
                for (int x = 0; x < 64; x++)
                    input[z, y, x] = (z * 0.5f) + (y + x) / 512f;
        var predictor = new RecordingPredictor();
        var result = SlidingWindowInferer.Run(input, predictor, new SlidingWindowOptions(new Shape3(64, 64, 64), Scale: 2));
        Assert.All(predictor.Patches, p => Assert.Equal(new Shape3(32, 32, 32), p));
        for (int z = 0; z < 2; z++)
            for (int y = 2; y < 62; y++)
                for (int x = 2; x < 62; x++)
                    Close(input[z, y, x], result.Probabilities[z, y, x], 1e-4);
    }

    [Fact]
    public void Test_time_flips_are_the_four_in_plane_mirrorings()
    {
        var input = SlidingWindowInfererTests.Random(new Shape3(1, 32, 48), 8);
        var predictor = new RecordingPredictor();
        var result = SlidingWindowInferer.Run(input, predictor, new SlidingWindowOptions(new Shape3(16, 32, 48), TestTimeFlips: 8));
        Assert.Equal(4, predictor.Windows); // one window, four mirrorings (z mirroring a stack of copies is a no-op)
        for (int i = 0; i < input.Span.Length; i++)
        {
            Close(input.Span[i], result.Probabilities.Span[i], 1e-5);
        }
    }

    [Fact]
    public void Skip_score_skips_sections_without_tissue_and_progress_counts_sections()
    {
        var input = SlidingWindowInfererTests.Random(new Shape3(3, 32, 32), 6);
        var score = new Volume<float>(input.Shape);
        score[1, 5, 5] = 1; // only section 1 holds tissue
        var predictor = new RecordingPredictor();
        var reports = new List<ProgressReport>();
        var result = SlidingWindowInferer.Run(input, predictor, new SlidingWindowOptions(new Shape3(16, 32, 32), SkipThreshold: 0.5f),
            new Sync(reports), skipScore: score);
        Assert.Equal(3, result.Windows);
        Assert.Equal(2, result.Skipped);
        Assert.Equal(1, predictor.Windows);
        Assert.Equal(0f, result.Probabilities[0, 4, 4]);
        Close(input[1, 4, 4], result.Probabilities[1, 4, 4], 1e-5);
        Assert.Equal(["section 1/3", "section 2/3", "section 3/3"], reports.Select(r => r.Stage));
    }

    [Fact]
    public void Destination_receives_the_sections()
    {
        var input = SlidingWindowInfererTests.Random(new Shape3(2, 20, 20), 2);
        var destination = new Volume<float>(input.Shape);
        var result = SlidingWindowInferer.Run(input, new RecordingPredictor(), new SlidingWindowOptions(new Shape3(16, 16, 16)), destination: destination);
        Assert.Same(destination, result.Probabilities);
        Close(input[1, 7, 9], destination[1, 7, 9], 1e-5);
    }

    [Fact]
    public void Bad_section_options_name_the_parameter()
    {
        Assert.Equal("SectionDepth", Assert.Throws<ArgumentOutOfRangeException>(() => new SlidingWindowOptions(new Shape3(16, 16, 16), SectionDepth: 0).Validate()).ParamName);
        Assert.Equal("Stack", Assert.Throws<ArgumentOutOfRangeException>(() => new SlidingWindowOptions(new Shape3(16, 16, 16), Stack: (StackMode)7).Validate()).ParamName);
        // A depth that is not a multiple of the pad multiple is rounded up (the network's size divisor).
        Assert.Equal(new Shape3(32, 96, 96), SectionwiseInference.SectionWindow(new SlidingWindowOptions(new Shape3(64, 64, 64), SectionDepth: 20)));
    }

    private static void Close(double expected, double actual, double tolerance) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"expected {expected}, got {actual} (tolerance {tolerance})");

    /// <summary>Records windows; answers its input (identity) or, with <c>zMean</c>, the mean over z of each column.</summary>
    private sealed class RecordingPredictor(bool zMean = false) : IPatchPredictor
    {
        public int Windows { get; private set; }

        public List<Shape3> Patches { get; } = [];

        public void Predict(ReadOnlySpan<float> batch, int batchSize, Shape3 patch, Span<float> probabilities)
        {
            Windows += batchSize;
            int n = (int)patch.Length, plane = patch.Y * patch.X;
            for (int b = 0; b < batchSize; b++)
            {
                Patches.Add(patch);
                var w = batch.Slice(b * n, n).ToArray();
                float[] p = w;
                if (zMean)
                {
                    p = new float[n];
                    for (int i = 0; i < plane; i++)
                    {
                        float s = 0;
                        for (int z = 0; z < patch.Z; z++) s += w[(z * plane) + i];
                        for (int z = 0; z < patch.Z; z++) p[(z * plane) + i] = s / patch.Z;
                    }
                }

                p.CopyTo(probabilities.Slice(b * n, n));
            }
        }
    }

    private sealed class Sync(List<ProgressReport> reports) : IProgress<ProgressReport>
    {
        public void Report(ProgressReport value) => reports.Add(value);
    }
}
