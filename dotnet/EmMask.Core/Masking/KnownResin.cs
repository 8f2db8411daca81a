using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// A section's resin intensity, measured once on the plan's sample of a volume of one section masked in tiles (a
/// section larger than the memory budget, or over the in-memory block limit in 3D mode), so that every tile runs the
/// steps a whole section runs where its resin is known (<see cref="FineResinMarkers"/>, resin markers beside the mask
/// decided by intensity, <see cref="ResinTrim"/>) with the section's numbers rather than its own.
/// </summary>
/// <param name="Median">The median of the smoothed image over the resin markers (<see cref="ResinIntensity.Median"/>).</param>
/// <param name="Spread">Their robust spread (<see cref="ResinIntensity.Spread"/>).</param>
/// <param name="Flat">The local spread under which material is as flat as resin (<see cref="FineResinMarkers.Flatness"/>).</param>
internal sealed record KnownResin(float Median, float Spread, float Flat)
{
    /// <summary>
    /// The section's resin as a final section measures it on itself: where its resin markers hold
    /// <see cref="ClassicalMasker.ResinHoleCells"/> working-level cells, their intensity and flatness; else null.
    /// </summary>
    /// <param name="n">The prepared (filled, stabilised) image of the sample.</param>
    /// <param name="valid">Valid voxels (null: all).</param>
    /// <param name="resin">The sample's resin markers at full resolution, or null without the resin rule.</param>
    /// <param name="level">The working level.</param>
    /// <param name="ct">Cancels the work.</param>
    public static KnownResin? Measure(Volume<float> n, Volume<byte>? valid, Volume<byte>? resin, int level, CancellationToken ct)
    {
        if (resin is null || resin.Span.Length - resin.Span.Count((byte)0) < (long)ClassicalMasker.ResinHoleCells << (2 * level))
        {
            return null;
        }

        if (ResinIntensity.Measure(n, resin, valid, ct) is not { } intensity)
        {
            return null;
        }

        float flat = FineResinMarkers.Flatness(FineResinMarkers.LocalSpread(n, ct).Span, resin, valid);
        return new KnownResin(intensity.Median, intensity.Spread, flat);
    }
}
