using EmMask.Core.Inference;
using EmMask.Core.Volumes;

namespace EmMask.Host.Worker;

/// <summary>What the U-Net worker should run on a volume.</summary>
/// <param name="ModelPath">
/// A saved model file, or a built-in test model: <c>builtin:identity</c> (probability = input),
/// <c>builtin:threshold</c> (input &gt; 0), <c>builtin:slow</c> (identity, 200 ms per batch),
/// <c>builtin:fail</c> (always throws), <c>builtin:hang</c> (never returns). Built-ins need no libtorch.
/// </param>
/// <param name="RoiSize">Sliding-window size (z, y, x), rounded up to multiples of 16.</param>
/// <param name="Overlap">Window overlap fraction in [0, 1).</param>
/// <param name="BatchSize">Windows per predictor call.</param>
/// <param name="Scale">Integer working-scale factor ≥ 1 (downsample, predict, upsample).</param>
/// <param name="SkipThreshold">Skip windows whose local standard deviation never reaches this (null: no skipping).</param>
/// <param name="Device">"cpu", "cuda", "cuda:N" or "auto" (cuda when available).</param>
/// <param name="NormalizeInput">
/// Apply the U-Net's training normalisation (percentiles 1–99 → 0–1) in the worker; false when the input is
/// already normalised.
/// </param>
/// <param name="TestTimeFlips">1 (off), 4 or 8: windows also predicted mirrored, probabilities averaged.</param>
public sealed record UNetRequest(
    string ModelPath,
    Shape3 RoiSize,
    double Overlap = 0.25,
    int BatchSize = 4,
    int Scale = 1,
    float? SkipThreshold = null,
    string Device = "cpu",
    bool NormalizeInput = true,
    int TestTimeFlips = 1)
{
    /// <summary>Checks every parameter; throws naming the bad one.</summary>
    public UNetRequest Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelPath))
        {
            throw new ArgumentException("A model path is required.", nameof(ModelPath));
        }

        if (Device is not "cpu" and not "cuda" and not "auto" && !(Device?.StartsWith("cuda:", StringComparison.Ordinal) == true && int.TryParse(Device.AsSpan(5), out int n) && n >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(Device), Device, "Device must be \"cpu\", \"cuda\", \"cuda:N\" or \"auto\".");
        }

        ToSlidingWindowOptions().Validate();
        return this;
    }

    /// <summary>The sliding-window parameters this request implies (windows padded to multiples of 16).</summary>
    public SlidingWindowOptions ToSlidingWindowOptions() =>
        new(RoiSize, Overlap, BatchSize, Scale, SkipThreshold, TestTimeFlips: TestTimeFlips);
}
