using System.Numerics.Tensors;
using EmMask.Core.Blockwise;
using EmMask.Core.Filters;
using EmMask.Core.Labeling;
using EmMask.Core.Morphology;
using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// Stained material next to a mask joins it: each whole section's classical mask in 2D mode (ClassicalMasker), and the
/// U-Net's envelope, so that the network decides there too. Dark, smooth tissue (a muscle block in a downsampled
/// overview, a dense gut) has too little texture at the classical masker's level and falls outside its mask, and so
/// outside the envelope, though the network calls it tissue; resin carries no stain.
/// </summary>
/// <remarks>
/// Per section (both apply it where the classical masker worked section by section, on sections of at least 128²:
/// <see cref="TissueEnvelope.FromClassical"/>), on the image smoothed in-plane by <see cref="Smoothing"/> voxels: the
/// reference is the stain rule's (<see cref="StainRule"/>) — the lower medians of the classical tissue (m_t) and of the
/// valid voxels outside the envelope (m_r), and the tissue's spread σ_t = 1.4826·median|s − m_t| — and the stain score
/// z = sign(m_t − m_r)·(s − m_t)/σ_t. Valid voxels outside the envelope with z &gt; <see cref="StainScore"/> (beyond
/// the tissue's median, away from resin), opened by <see cref="OpeningRadius"/>, form 4-connected regions; each region
/// of at least <see cref="MinimumVoxels"/> voxels that touches the envelope joins it (holes are not filled again).
/// Sections without a reference (a class under 0.5 % of the section, no spread, or |m_t − m_r| &lt; σ_t/4) are left
/// as they are (docs/real-em-decisions.md, "U-Net: stained material next to the envelope joins it" and "Classical:
/// stained regions touching a section's mask join it").
/// </remarks>
public static class StainedAdmission
{
    /// <summary>Stain score (tissue spreads beyond the tissue's median, away from resin) above which a voxel is stained.</summary>
    public const double StainScore = 0.5;

    /// <summary>In-plane Gaussian σ (voxels) of the smoothing the stain is measured on.</summary>
    public const double Smoothing = 2;

    /// <summary>Radius (voxels) of the in-plane opening that removes stained specks and lines (dirt, seams).</summary>
    public const double OpeningRadius = 2;

    /// <summary>Fewest voxels of a stained region outside the envelope for it to join.</summary>
    public const int MinimumVoxels = 1000;

    /// <summary>
    /// Adds the stained regions next to <paramref name="envelope"/> to it, in place, section by section; returns the
    /// voxels added.
    /// </summary>
    /// <param name="envelope">The envelope (0/1), changed in place.</param>
    /// <param name="classical">The classical mask the envelope was grown from (may be <paramref name="envelope"/> itself: its
    /// classes are read before anything joins).</param>
    /// <param name="input">The image (uint8, uint16 or float32), read one section at a time.</param>
    /// <param name="valid">The classical masker's valid voxels (padding and NaN are 0), or null when all are valid.</param>
    /// <param name="score">The stain score above which a voxel is stained (<see cref="StainScore"/> by default).</param>
    /// <param name="ct">Cancels the work.</param>
    public static long Admit(Volume<byte> envelope, Volume<byte> classical, IBlockSource input, Volume<byte>? valid, double score = StainScore, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        ArgumentNullException.ThrowIfNull(classical);
        ArgumentNullException.ThrowIfNull(input);
        var shape = envelope.Shape;
        if (classical.Shape != shape || input.Shape != shape || (valid is not null && valid.Shape != shape))
        {
            throw new ArgumentException($"The envelope {shape}, classical mask {classical.Shape}, input {input.Shape} and valid map must have one shape.");
        }

        long added = 0;
        var plane = new Shape3(1, shape.Y, shape.X);
        for (int z = 0; z < shape.Z; z++)
        {
            ct.ThrowIfCancellationRequested();

            var ok = new byte[plane.Length];
            var smoothed = Smoothed(input.Read((z, 0, 0), plane, ct), ok, ct);
            if (valid is not null)
            {
                var own = valid.Slice(z);
                for (int i = 0; i < ok.Length; i++)
                {
                    ok[i] = (byte)(ok[i] != 0 && own[i] != 0 ? 1 : 0);
                }
            }

            var env = envelope.Slice(z);
            if (Reference(smoothed.Span, classical.Slice(z), env, ok) is not { } reference)
            {
                continue;
            }

            var stained = new Volume<byte>(plane);
            var s = stained.Span;
            var values = smoothed.Span;
            for (int i = 0; i < s.Length; i++)
            {
                s[i] = (byte)(ok[i] != 0 && env[i] == 0 && IsStained(reference, values[i], score) ? 1 : 0);
            }

            MaskMorphology.Open(stained, OpeningRadius, perSlice: true, ct);
            added += JoinTouching(stained, env, shape.X, ct);
        }

        return added;
    }

    /// <summary>The line a U-Net run reports when stained regions joined its envelope.</summary>
    public static string Note(long joined, long voxels) => FormattableString.Invariant(
        $"stained regions next to the tissue envelope joined it: {joined} voxels ({100.0 * joined / Math.Max(1, voxels):0.0} %); the network decided there (--no-stained-join: leave them out).");

    /// <summary>
    /// The image the stain is measured on: <paramref name="section"/> as float, smoothed in-plane by <see cref="Smoothing"/>
    /// (non-finite values as 0); <paramref name="finite"/> receives whether each value was finite. A tiled section's join
    /// smooths its tiles the same way (Blockwise.TiledStainJoin).
    /// </summary>
    internal static Volume<float> Smoothed(IVolume section, Span<byte> finite, CancellationToken ct)
    {
        var smoothed = new Volume<float>(section.Shape);
        Load(section, smoothed.Span, finite);
        GaussianFilter.Apply(smoothed, smoothed, new Sigma3(0, Smoothing, Smoothing), cancellationToken: ct);
        return smoothed;
    }

    /// <summary>Whether a smoothed value is stained: its stain score (beyond the tissue's median, away from resin, in tissue spreads) exceeds <paramref name="score"/>.</summary>
    internal static bool IsStained(StainRule.Reference reference, float smoothed, double score) =>
        reference.Scale * (smoothed - reference.TissueMedian) > score;

    // The stain rule's reference on this section: classical tissue against the valid voxels outside the envelope.
    private static StainRule.Reference? Reference(ReadOnlySpan<float> smoothed, ReadOnlySpan<byte> classical, ReadOnlySpan<byte> envelope, ReadOnlySpan<byte> ok)
    {
        long valid = 0;
        foreach (byte b in ok)
        {
            valid += b;
        }

        int step = Math.Max(1, (int)(valid / StainRule.SampleLimit));
        var tissue = new List<float>();
        var resin = new List<float>();
        long seen = 0;
        for (int i = 0; i < smoothed.Length; i++)
        {
            if (ok[i] == 0 || (classical[i] == 0 && envelope[i] != 0) || seen++ % step != 0)
            {
                continue; // the envelope's margin and filled holes belong to neither class
            }

            (classical[i] != 0 ? tissue : resin).Add(smoothed[i]);
        }

        return StainRule.FromClasses(tissue, resin, tissue.Count + resin.Count);
    }

    // Sets the envelope on each stained region of at least MinimumVoxels that has a 4-neighbour in it; returns the voxels added.
    private static long JoinTouching(Volume<byte> stained, Span<byte> envelope, int width, CancellationToken ct)
    {
        var labels = ConnectedComponents.Label(stained, Connectivity.Face, ct);
        if (labels.Count == 0)
        {
            return 0;
        }

        var touches = new bool[labels.Count + 1];
        var l = labels.Labels.Span;
        for (int i = 0; i < l.Length; i++)
        {
            int label = l[i];
            if (label == 0 || touches[label])
            {
                continue;
            }

            int x = i % width;
            touches[label] = (x > 0 && envelope[i - 1] != 0) || (x < width - 1 && envelope[i + 1] != 0)
                || (i >= width && envelope[i - width] != 0) || (i + width < l.Length && envelope[i + width] != 0);
        }

        long added = 0;
        for (int i = 0; i < l.Length; i++)
        {
            int label = l[i];
            if (label != 0 && touches[label] && labels.Sizes[label] >= MinimumVoxels)
            {
                envelope[i] = 1;
                added++;
            }
        }

        return added;
    }

    // A section's values as float, and whether each is finite.
    private static void Load(IVolume section, Span<float> values, Span<byte> finite)
    {
        switch (section)
        {
            case Volume<byte> v:
                TensorPrimitives.ConvertTruncating<byte, float>(v.Span, values);
                finite.Fill(1);
                return;
            case Volume<ushort> v:
                TensorPrimitives.ConvertTruncating<ushort, float>(v.Span, values);
                finite.Fill(1);
                return;
            case Volume<float> v:
                var source = v.Span;
                for (int i = 0; i < values.Length; i++)
                {
                    bool ok = float.IsFinite(source[i]);
                    finite[i] = (byte)(ok ? 1 : 0);
                    values[i] = ok ? source[i] : 0;
                }

                return;
            default:
                throw new NotSupportedException($"Voxel type {section.VoxelType} is not supported.");
        }
    }
}
