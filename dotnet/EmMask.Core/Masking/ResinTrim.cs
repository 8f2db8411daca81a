using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// Where the section's resin is known, the boundary refinement takes away only resin-like material. Its watershed puts
/// the boundary on the strongest edge between its markers; its tissue markers lie deep inside (5 working-level voxels),
/// so on cells with pale cytoplasm beside the membrane an inner edge can win and the cytoplasm between it and the
/// membrane is cut away. The trim sets such voxels back to tissue.
/// </summary>
internal static class ResinTrim
{
    /// <summary>Robust spreads of the resin's full-resolution intensity within which trimmed material counts as resin.</summary>
    public const double Window = 6;

    /// <summary>Whether a smoothed intensity counts as resin: within <see cref="Window"/> robust spreads of the resin's.</summary>
    public static bool IsResinLike(float smoothed, ResinIntensity resin) => Math.Abs(smoothed - resin.Median) <= (float)(Window * resin.Spread);

    /// <summary>
    /// Sets back to tissue every voxel that was tissue in <paramref name="coarse"/>, is non-brain in the refined
    /// <paramref name="mask"/>, and lies more than <see cref="Window"/> robust spreads from the resin's intensity.
    /// </summary>
    /// <param name="mask">The refined mask, changed in place.</param>
    /// <param name="coarse">The mask before the refinement.</param>
    /// <param name="resin">The section's resin intensity.</param>
    /// <returns>The number of voxels set back to tissue.</returns>
    public static long Restore(Volume<byte> mask, ReadOnlySpan<byte> coarse, ResinIntensity resin)
    {
        var m = mask.Span;
        var s = resin.Smoothed.Span;
        long restored = 0;
        for (int i = 0; i < m.Length; i++)
        {
            if (coarse[i] != 0 && m[i] == 0 && !IsResinLike(s[i], resin))
            {
                m[i] = 1;
                restored++;
            }
        }

        return restored;
    }
}
