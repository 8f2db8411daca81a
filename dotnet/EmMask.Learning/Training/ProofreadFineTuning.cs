using EmMask.Core.Inference;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;
using EmMask.Learning.Models;
using EmMask.Learning.Preprocessing;

namespace EmMask.Learning.Training;

/// <summary>What <see cref="ProofreadFineTuning.Run"/> did.</summary>
/// <param name="ModelPath">The fine-tuned model file (written atomically).</param>
/// <param name="LogPath">The training log beside it (<c>NAME.training_log.json</c>).</param>
/// <param name="Steps">Optimiser steps done.</param>
/// <param name="Scale">The working scale the model was trained at (the U-Net mask's scale for this volume).</param>
/// <param name="ProofreadVoxels">Voxels whose label counted (0 or 1 in the proofread labels).</param>
/// <param name="Elapsed">Wall time.</param>
/// <param name="TrainedShape">The part of the volume trained on, at the working scale (the proofread sections and the context a patch reaches).</param>
public sealed record FineTuneResult(string ModelPath, string LogPath, int Steps, int Scale, long ProofreadVoxels, TimeSpan Elapsed, Shape3 TrainedShape);

/// <summary>
/// Fine-tunes the U-Net from a proofreader's corrections: the volume, and labels that are 1 (tissue) or 0 (non-brain)
/// where the proofreader has checked them and <see cref="FineTuneOptions.NotProofread"/> elsewhere; the loss counts only the checked
/// voxels (the model card's experiment: one proofread section of a Platynereis volume lifted the non-brain IoU on the
/// other 31 sections from 0.563 to 0.866). The volume is trained at the working scale the U-Net mask chooses for it
/// (in-plane only for stacks it predicts section by section), so the new model sees what the mask will feed it. The
/// model file appears only when training has finished; a cancelled or failed run leaves the target as it was. The
/// worker runs it for the Python API and the napari panel, and <c>emmask finetune</c> from files.
/// </summary>
public static class ProofreadFineTuning
{
    private const byte NotProofread = FineTuneOptions.NotProofread;

    /// <summary>Fine-tunes <see cref="FineTuneOptions.Model"/> on <paramref name="image"/> and writes <paramref name="target"/>.</summary>
    /// <param name="image">The raw uint8, uint16 or float32 volume, with its voxel size (it sets the working scale).</param>
    /// <param name="labels">Same shape: 1 tissue, 0 non-brain, <see cref="FineTuneOptions.NotProofread"/> not checked.</param>
    /// <param name="target">The model file to write (.safetensors); replaced if it exists.</param>
    /// <param name="options">The fine-tuning options.</param>
    /// <param name="progress">Stage "fine-tuning", fraction of the steps done.</param>
    /// <param name="cancellationToken">Stops between steps; nothing is written.</param>
    /// <exception cref="ArgumentException">Mismatched shapes, labels other than 0/1/255, no proofread voxel, a bad target.</exception>
    public static FineTuneResult Run(
        IVolume image,
        Volume<byte> labels,
        string target,
        FineTuneOptions options,
        IProgress<ProgressReport>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        string path = CheckTarget(target);
        FineTuneOptions.CheckLabelShape(image.Shape, labels.Shape);

        var (proofread, first, last) = Count(labels);
        var augmentation = AugmentationOptions.FromName(options.Augment);
        string initial = ModelLocator.Resolve(options.Model);
        int scale = options.Scale ?? WorkingScale.FromVoxelSize(image.VoxelSize, image.Shape);
        bool sections = StackModes.PrefersSections(image.Shape, image.VoxelSize, WorkingScale.MinimumCoarseLength);
        var volume = ProofreadPart(image, labels, first, last, options.Patch * scale, sections ? 1 : scale)
            .Downsampled(scale, inPlaneOnly: sections, halfLabelled: true);

        string folder = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.training-{Guid.NewGuid():N}");
        try
        {
            var training = new TrainingOptions
            {
                Volumes = [volume],
                OutputDirectory = folder,
                InitialCheckpoint = initial,
                Patch = new Shape3(options.Patch, options.Patch, options.Patch),
                BatchSize = options.Batch,
                Steps = options.Steps,
                LearningRate = options.LearningRate,
                Seed = options.Seed,
                ValidateEvery = options.Steps,
                Augmentation = augmentation,
                Device = options.Device,
            };
            var forward = progress is null ? null : new StepProgress(progress);
            var result = UNetTrainer.Train(training, forward, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();

            // The model last, by a rename within its folder: a reader sees the old file or the whole new one.
            string log = Path.ChangeExtension(path, ".training_log.json");
            File.Move(result.LogPath, log, overwrite: true);
            File.Move(result.BestModelPath, path, overwrite: true);
            return new FineTuneResult(path, log, result.Steps, scale, proofread, result.Elapsed, volume.Image.Shape);
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    /// <summary>
    /// The proofread sections with <paramref name="context"/> sections around them (what a patch centred on them can
    /// reach), normalised with the whole volume's percentiles as the U-Net mask normalises it: a large volume with a few
    /// proofread sections is never copied whole (as float, or its labels). The part starts on a multiple of <paramref name="zBlock"/>, so
    /// averaging in z meets the blocks the mask's downsampling meets.
    /// </summary>
    private static TrainingVolume ProofreadPart(IVolume image, Volume<byte> labels, int first, int last, int context, int zBlock)
    {
        var s = image.Shape;
        int z0 = Math.Max(0, first - context) / zBlock * zBlock, z1 = Math.Min(s.Z, last + context + 1);
        var size = new Shape3(z1 - z0, s.Y, s.X);
        var (low, high) = IntensityNormalization.Percentiles(image);
        var part = IntensityNormalization.ToFloat(VolumeRegions.Crop(image, (z0, 0, 0), size));
        IntensityNormalization.Apply(part.Span, part.Span, low, high);
        var (truth, region) = Split(VolumeRegions.Crop(labels, (z0, 0, 0), size));
        return new TrainingVolume(part, truth, region, "proofread");
    }

    private static string CheckTarget(string target)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(target);
        string path = Path.GetFullPath(target);
        if (!path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"The fine-tuned model is written as .safetensors; '{target}' has another extension.", nameof(target));
        }

        if (!Directory.Exists(Path.GetDirectoryName(path)))
        {
            throw new ArgumentException($"The folder of '{target}' does not exist.", nameof(target));
        }

        return path;
    }

    // The proofread voxels and the first and last section holding one; other labels than 0, 1 and NotProofread, or
    // none proofread, are errors. Reads the labels without copying them.
    private static (long Proofread, int First, int Last) Count(Volume<byte> labels)
    {
        var l = labels.Span;
        long proofread = 0;
        int first = -1, last = -1;
        for (int i = 0; i < l.Length; i++)
        {
            switch (l[i])
            {
                case 0:
                case 1:
                    proofread++;
                    first = first < 0 ? i : first;
                    last = i;
                    break;
                case NotProofread:
                    break;
                default:
                    throw new ArgumentException($"Proofread labels must be 1 (tissue), 0 (non-brain) or {NotProofread} (not checked); found {l[i]}.", nameof(labels));
            }
        }

        if (proofread == 0)
        {
            throw new ArgumentException("No voxel is proofread: mark at least one section (labels 0 or 1) to fine-tune from.", nameof(labels));
        }

        int plane = labels.Shape.Y * labels.Shape.X;
        return (proofread, first / plane, last / plane);
    }

    // 0/1 labels and the proofread region (1 where the label counts) of checked labels.
    private static (Volume<byte> Truth, Volume<byte> Region) Split(Volume<byte> labels)
    {
        var truth = labels.Like<byte>();
        var region = labels.Like<byte>();
        var l = labels.Span;
        var t = truth.Span;
        var r = region.Span;
        for (int i = 0; i < l.Length; i++)
        {
            if (l[i] != NotProofread)
            {
                t[i] = l[i];
                r[i] = 1;
            }
        }

        return (truth, region);
    }

    private sealed class StepProgress(IProgress<ProgressReport> progress) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) =>
            progress.Report(new ProgressReport(FormattableString.Invariant($"fine-tuning (step {value.Step} of {value.TotalSteps}, loss {value.Loss:F3})"), value.Fraction));
    }
}
