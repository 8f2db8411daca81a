using System.Numerics.Tensors;
using EmMask.Core.Filters;
using EmMask.Core.Labeling;
using EmMask.Core.Morphology;
using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// The resin of a section at full resolution, where the section's resin is known by its markers, and the two things the
/// boundary refinement does with it. The intensity is the image smoothed by <see cref="SmoothingSigma"/> (finer than
/// the refinement's smoothing, which at coarse levels mixes the first voxels of resin with the tissue beside them);
/// the resin's median and robust spread are measured over the markers.
/// <list type="bullet">
/// <item><see cref="Restore"/>: the refinement takes away only resin-like material. Its watershed puts the boundary on
/// the strongest edge between its markers; its tissue markers lie deep inside (5 working-level voxels), so on cells with
/// pale cytoplasm beside the membrane an inner edge can win and the cytoplasm between it and the membrane is cut
/// away.</item>
/// <item><see cref="FineMarkers"/>: resin narrower than the working level resolves (a channel the pooled vote covered,
/// too narrow for the working-level markers) is found at full resolution, as flat material at the resin's intensity.</item>
/// </list>
/// </summary>
internal sealed class ResinTrim
{
    /// <summary>Robust spreads of the resin's full-resolution intensity within which trimmed material counts as resin.</summary>
    public const double Window = 6;

    /// <summary>Gaussian σ (voxels) of the smoothing before the intensity test.</summary>
    public const double SmoothingSigma = 1;

    /// <summary>Robust spreads of the resin's intensity within which a flat voxel is a fine resin marker.</summary>
    public const double MarkerWindow = 1.5;

    /// <summary>Gaussian σ (voxels) of the window of the local standard deviation that says whether material is flat.</summary>
    public const double FlatnessSigma = 2;

    /// <summary>Quantile of the local standard deviation over the markers below which material counts as flat as resin.</summary>
    public const double FlatnessQuantile = 0.9;

    private readonly Volume<float> smoothed;
    private readonly float median;
    private readonly float spread;

    private ResinTrim(Volume<float> smoothed, float median, float spread)
    {
        this.smoothed = smoothed;
        this.median = median;
        this.spread = spread;
    }

    /// <summary>The resin's intensity over the markers, or null where there is none to measure (no valid markers, or no spread).</summary>
    /// <param name="image">The (stabilised) image the refinement runs on.</param>
    /// <param name="markers">Resin markers (nonzero: resin), same shape.</param>
    /// <param name="valid">Valid voxels (null: all).</param>
    /// <param name="ct">Cancels the work.</param>
    public static ResinTrim? Measure(Volume<float> image, Volume<byte> markers, Volume<byte>? valid, CancellationToken ct)
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
        return spread > 0 ? new ResinTrim(smoothed, median, spread) : null;
    }

    /// <summary>
    /// Sets back to tissue every voxel that was tissue in <paramref name="coarse"/>, is non-brain in the refined
    /// <paramref name="mask"/>, and lies more than <see cref="Window"/> robust spreads from the resin's intensity.
    /// </summary>
    /// <param name="mask">The refined mask, changed in place.</param>
    /// <param name="coarse">The mask before the refinement.</param>
    /// <returns>The number of voxels set back to tissue.</returns>
    public long Restore(Volume<byte> mask, ReadOnlySpan<byte> coarse)
    {
        float limit = (float)(Window * spread);
        var m = mask.Span;
        var s = smoothed.Span;
        long restored = 0;
        for (int i = 0; i < m.Length; i++)
        {
            if (coarse[i] != 0 && m[i] == 0 && Math.Abs(s[i] - median) > limit)
            {
                m[i] = 1;
                restored++;
            }
        }

        return restored;
    }

    /// <summary>
    /// The markers with fine resin markers added: valid voxels within <see cref="MarkerWindow"/> robust spreads of the
    /// resin's intensity whose local standard deviation (window σ <see cref="FlatnessSigma"/>) is at most its
    /// <see cref="FlatnessQuantile"/> quantile over the markers, in 4-connected regions of at least
    /// <paramref name="minimumVoxels"/> voxels (specks of noise in tissue are not resin).
    /// </summary>
    /// <param name="image">The (stabilised) image the refinement runs on.</param>
    /// <param name="markers">Resin markers; not changed.</param>
    /// <param name="valid">Valid voxels (null: all).</param>
    /// <param name="minimumVoxels">Smallest region of fine markers kept.</param>
    /// <param name="ct">Cancels the work.</param>
    public Volume<byte> FineMarkers(Volume<float> image, Volume<byte> markers, Volume<byte>? valid, long minimumVoxels, CancellationToken ct)
    {
        // Local standard deviation: sqrt(G(( x − G(x) )²)).
        var local = image.Like<float>();
        GaussianFilter.Apply(image, local, Sigma3.Isotropic(FlatnessSigma), cancellationToken: ct);
        var l = local.Span;
        TensorPrimitives.Subtract(image.Span, l, l);
        TensorPrimitives.Multiply(l, l, l);
        GaussianFilter.Apply(local, local, Sigma3.Isotropic(FlatnessSigma), cancellationToken: ct);
        TensorPrimitives.Max(l, 0f, l);
        TensorPrimitives.Sqrt(l, l);
        var onMarkers = OnMarkers(l, markers.Span, valid);
        float flat = Select.Nth(onMarkers, (int)(FlatnessQuantile * (onMarkers.Length - 1)));

        var fine = markers.Like<byte>();
        var f = fine.Span;
        var ok = valid is null ? default : valid.Span;
        float reach = (float)(MarkerWindow * spread);
        var s = smoothed.Span;
        for (int i = 0; i < f.Length; i++)
        {
            f[i] = (ok.IsEmpty || ok[i] != 0) && Math.Abs(s[i] - median) <= reach && l[i] <= flat ? (byte)1 : (byte)0;
        }

        MaskMorphology.RemoveSmallRegions(fine, minimumVoxels, Connectivity.Face, ct);
        var k = markers.Span;
        for (int i = 0; i < f.Length; i++)
        {
            f[i] |= k[i] != 0 ? (byte)1 : (byte)0;
        }

        return fine;
    }

    // The values on valid marked voxels.
    private static float[] OnMarkers(ReadOnlySpan<float> values, ReadOnlySpan<byte> markers, Volume<byte>? valid)
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
