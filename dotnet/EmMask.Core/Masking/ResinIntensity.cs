using System.Numerics.Tensors;
using EmMask.Core.Filters;
using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// A section's resin intensity at full resolution, measured over its resin markers where the section's resin is known:
/// the image smoothed by <see cref="SmoothingSigma"/> (finer than the boundary refinement's smoothing, which at coarse
/// levels mixes the first voxels of resin with the tissue beside them), and the markers' median and robust spread
/// (1.4826 · MAD). <see cref="ResinTrim"/> and <see cref="FineResinMarkers"/> read it.
/// </summary>
internal sealed class ResinIntensity
{
    /// <summary>Gaussian σ (voxels) of the smoothing before any intensity test.</summary>
    public const double SmoothingSigma = 1;

    private ResinIntensity(Volume<float> smoothed, float median, float spread)
    {
        Smoothed = smoothed;
        Median = median;
        Spread = spread;
    }

    /// <summary>The image smoothed by <see cref="SmoothingSigma"/>.</summary>
    public Volume<float> Smoothed { get; }

    /// <summary>The median of <see cref="Smoothed"/> over the valid markers.</summary>
    public float Median { get; }

    /// <summary>The robust spread (1.4826 · MAD) of <see cref="Smoothed"/> over the valid markers; always &gt; 0.</summary>
    public float Spread { get; }

    /// <summary>The resin's intensity over the markers, or null where there is none to measure (no valid markers, or no spread).</summary>
    /// <param name="image">The (stabilised) image the refinement runs on.</param>
    /// <param name="markers">Resin markers (nonzero: resin), same shape.</param>
    /// <param name="valid">Valid voxels (null: all).</param>
    /// <param name="ct">Cancels the work.</param>
    public static ResinIntensity? Measure(Volume<float> image, Volume<byte> markers, Volume<byte>? valid, CancellationToken ct)
    {
        var smoothed = image.Like<float>();
        GaussianFilter.Apply(image, smoothed, Sigma3.Isotropic(SmoothingSigma), cancellationToken: ct);
        var values = OnMarkers(smoothed.Span, markers.Span, valid);
        if (values.Length == 0)
        {
            return null;
        }

        float median = Select.Median([.. values]);
        TensorPrimitives.Subtract(values, median, values);
        TensorPrimitives.Abs(values, values);
        float spread = (float)(1.4826 * Select.Median(values));
        return spread > 0 ? new ResinIntensity(smoothed, median, spread) : null;
    }

    /// <summary>
    /// The resin's intensity known from elsewhere (a tiled section's plan: <see cref="KnownResin"/>): only the smoothing
    /// is this image's.
    /// </summary>
    public static ResinIntensity At(Volume<float> image, float median, float spread, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(spread);
        var smoothed = image.Like<float>();
        GaussianFilter.Apply(image, smoothed, Sigma3.Isotropic(SmoothingSigma), cancellationToken: ct);
        return new ResinIntensity(smoothed, median, spread);
    }

    /// <summary>The values on valid marked voxels.</summary>
    internal static float[] OnMarkers(ReadOnlySpan<float> values, ReadOnlySpan<byte> markers, Volume<byte>? valid)
    {
        var ok = valid is null ? default : valid.Span;
        var taken = new List<float>();
        for (int i = 0; i < values.Length; i++)
        {
            if (markers[i] != 0 && (ok.IsEmpty || ok[i] != 0))
            {
                taken.Add(values[i]);
            }
        }

        return [.. taken];
    }
}
