using System.Numerics.Tensors;
using EmMask.Core.Filters;
using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// Where a section's resin is known by its markers, the boundary refinement may take from the coarse mask only material
/// at the resin's intensity. The refinement's watershed puts the boundary on the strongest edge between its markers;
/// its tissue markers lie deep inside (5 working-level voxels), so on cells with pale cytoplasm beside the membrane an
/// inner edge can win and the cytoplasm between it and the membrane is cut away. The resin's intensity is measured over
/// the resin markers on the image smoothed by <see cref="SmoothingSigma"/> (finer than the refinement's smoothing, which
/// at coarse levels mixes the first voxels of resin with the tissue beside them): its median and robust spread.
/// </summary>
internal static class ResinTrim
{
    /// <summary>Robust spreads of the resin's full-resolution intensity within which trimmed material counts as resin.</summary>
    public const double Window = 6;

    /// <summary>Gaussian σ (voxels) of the smoothing before the intensity test.</summary>
    public const double SmoothingSigma = 1;

    /// <summary>
    /// Sets back to tissue every voxel that was tissue in <paramref name="coarse"/>, is non-brain in the refined
    /// <paramref name="mask"/>, and lies more than <see cref="Window"/> robust spreads from the resin's intensity.
    /// </summary>
    /// <param name="mask">The refined mask, changed in place.</param>
    /// <param name="coarse">The mask before the refinement.</param>
    /// <param name="image">The (stabilised) image the refinement ran on.</param>
    /// <param name="markers">Resin markers (nonzero: resin), same shape.</param>
    /// <param name="valid">Valid voxels (null: all).</param>
    /// <param name="ct">Cancels the work.</param>
    /// <returns>The number of voxels set back to tissue.</returns>
    public static long Restore(Volume<byte> mask, ReadOnlySpan<byte> coarse, Volume<float> image, Volume<byte> markers, Volume<byte>? valid, CancellationToken ct)
    {
        var smoothed = image.Like<float>();
        GaussianFilter.Apply(image, smoothed, Sigma3.Isotropic(SmoothingSigma), cancellationToken: ct);
        var s = smoothed.Span;
        var k = markers.Span;
        var ok = valid is null ? default : valid.Span;
        var values = new List<float>();
        for (int i = 0; i < s.Length; i++)
        {
            if (k[i] != 0 && (ok.IsEmpty || ok[i] != 0))
            {
                values.Add(s[i]);
            }
        }

        if (values.Count == 0)
        {
            return 0;
        }

        var deviation = values.ToArray();
        float median = Select.Median([.. deviation]);
        TensorPrimitives.Subtract(deviation, median, deviation);
        TensorPrimitives.Abs(deviation, deviation);
        float limit = (float)(Window * 1.4826 * Select.Median(deviation));
        if (!(limit > 0))
        {
            return 0;
        }

        var m = mask.Span;
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
}
