using EmMask.Core.Inference;
using EmMask.Core.Masking;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;
using EmMask.Host.Worker;
using EmMask.Learning.Preprocessing;
using EmMask.Worker;

namespace EmMask.Cli.Services;

/// <summary>
/// The U-Net method behind <c>emmask mask --method unet</c>. The CLI is its own process, so the model runs here, with the
/// worker's model loading and the shared sliding-window inferer (the napari plugin runs the same code in the worker).
/// </summary>
public static class UNetMethod
{
    /// <summary>
    /// Windows holding no voxel of the pre-mask are not run through the network. The pre-mask is the tissue envelope
    /// (<see cref="TissueEnvelope"/>) as 0/1, so the threshold only separates 0 from 1. The mask, not the classical
    /// confidence, is its source: artefacts in resin reach confidence 0.99 in single voxels, which the window maximum
    /// would always see.
    /// </summary>
    public const float SkipConfidence = 0.5f;

    /// <summary>
    /// Runs the U-Net on a volume; the mask is probability >= 0.5 and the confidence is the probability. With an
    /// envelope margin the probability is 0 outside the envelope, and then skipping cannot change the result.
    /// </summary>
    public static MaskResult Run(IVolume input, UNetSettings settings, IProgress<ProgressReport> progress, CancellationToken ct)
    {
        string model = settings.Model ?? ModelLocator.Default();
        var warnings = new List<string>();
        var notes = new List<string>();
        var normal = IntensityNormalizer.Normalize(input, ct);
        if (normal.IsConstant)
        {
            warnings.Add($"The volume is constant (value {normal.Low:g}); the mask is all 0 (non-brain).");
            return new MaskResult(normal.Normalized.Like<byte>(), normal.Normalized.Like<float>(), 0.5, warnings);
        }

        int scale = settings.Scale;
        if (scale == WorkingScale.Auto)
        {
            scale = WorkingScale.FromVoxelSize(input.VoxelSize, input.Shape);
            if (scale > 1)
            {
                var nm = WorkingScale.Nanometres(input.VoxelSize)!.Value;
                notes.Add(FormattableString.Invariant($"Working scale {scale} (auto: voxel size {nm.Z:g}×{nm.Y:g}×{nm.X:g} nm, the model's {WorkingScale.ModelVoxelNm:g} nm; --scale 1 keeps full resolution)."));
            }
        }

        var request = new UNetRequest(model, new Shape3(settings.Roi, settings.Roi, settings.Roi), settings.Overlap, settings.Batch, scale,
            settings.SkipTiles ? SkipConfidence : null, settings.Device, TestTimeFlips: settings.TestTimeFlips).Validate();
        using var provider = new PredictorProvider();

        // Loading the model (libtorch's start-up and the weights, about 0.6 s) mostly waits on the loader and the disk,
        // so it runs beside the envelope's classical mask instead of after it.
        var loading = Task.Run(() => provider.Get(request.ModelPath, request.Device), CancellationToken.None);
        SlidingWindowResult result;
        Volume<byte>? envelope = null;
        try
        {
            // The classical mask (on the raw input) gives the envelope: the gate and the pre-mask for tile skipping.
            Volume<float>? skipScore = null;
            if (settings.SkipTiles || settings.EnvelopeMargin is not null)
            {
                progress.Report(new ProgressReport("tissue envelope", 0.0));
                envelope = TissueEnvelope.Compute(input, settings.EnvelopeMargin ?? 0, null, ct);
            }

            if (settings.SkipTiles)
            {
                skipScore = TissueEnvelope.AsSkipScore(envelope!);
            }

            // The model's own normalisation (the one it was trained with) on the NaN-cleaned volume. Percentile
            // normalisation is invariant to the positive affine map applied above, so this equals normalising the raw
            // input once.
            var volume = normal.Normalized;
            IntensityNormalization.Normalize(volume.Span, volume.Span);
            var loaded = loading.GetAwaiter().GetResult();
            var options = request.ToSlidingWindowOptions() with { PadMultiple = loaded.SizeDivisor };
            result = SlidingWindowInferer.Run(volume, loaded.Predictor, options, progress, ct, skipScore);
        }
        finally
        {
            // Never dispose the provider under a load still running (a cancel or an error in the envelope).
            ((IAsyncResult)loading).AsyncWaitHandle.WaitOne();
        }

        string note = $"U-Net ran {result.Windows - result.Skipped} of {result.Windows} windows ({result.Skipped} windows outside the tissue envelope skipped).";

        var probability = result.Probabilities;
        if (settings.EnvelopeMargin is not null)
        {
            TissueEnvelope.Gate(probability, envelope!);
        }

        probability.VoxelSize = input.VoxelSize;
        var mask = probability.Like<byte>();
        var p = probability.Span;
        var m = mask.Span;
        for (int i = 0; i < m.Length; i++)
        {
            m[i] = p[i] >= 0.5f ? (byte)1 : (byte)0;
        }

        notes.Insert(0, note);
        return new MaskResult(mask, probability, 0.5, warnings, notes);
    }
}
