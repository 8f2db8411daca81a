using EmMask.Core.Labeling;
using EmMask.Core.Masking;
using EmMask.Core.Morphology;
using EmMask.Core.Volumes;

namespace EmMask.Core.Inference;

/// <summary>
/// Hysteresis on the network's non-brain call (as <c>skimage.filters.apply_hysteresis_threshold</c> with the roles of
/// the classes swapped): a non-brain region, 6-connected voxels under <see cref="ProbabilityMask.Threshold"/>, is kept
/// only where it holds an anchor, a voxel under <c>low</c> (the network sure of non-brain); a region without one is
/// tissue. Resin outside the tissue envelope (gated to 0) and regions the network is sure of somewhere stay non-brain;
/// islands of doubt inside the tissue, where the network calls pale real tissue non-brain, become tissue. With a
/// confirming view (<see cref="Anchors"/>: the same network at twice the working scale), an anchor must also be under
/// the confirming threshold there, so patches a window sees only from inside a pale structure (a nucleus) anchor
/// nothing.
/// </summary>
public static class NonBrainHysteresis
{
    /// <summary>The code of an anchor voxel in a mask that carries anchors to a later, global step (block-wise runs).</summary>
    public const byte AnchorCode = 2;

    /// <summary>
    /// The code of a lost section's voxels in such a mask (<see cref="LostSections"/>): non-brain in the end, but in no
    /// region. A lost section carries no image, so it neither anchors a region nor joins regions to each other: before
    /// 2026-12-07 a blank section anchored every region of doubt in the sections next to it (the SEM edge pair with its
    /// second section lost: 0.998 → 0.942 non-brain IoU on the first). Padding within a section still anchors: next to
    /// it lies the image's edge (the ringing of a JPEG thumbnail on padding is a region of doubt it anchors).
    /// </summary>
    public const byte PaddingCode = 3;

    /// <summary>
    /// The voxels of the hysteresis's image (1) against its lost sections (0): the sections in which no voxel is valid
    /// (<see cref="MaskResult.Valid"/>: all padding or NaN); null where no section is lost (or <paramref name="valid"/>
    /// is null), which is the case for every volume whose padding leaves some image in each section.
    /// </summary>
    public static Volume<byte>? LostSections(Volume<byte>? valid)
    {
        if (valid is null)
        {
            return null;
        }

        int plane = valid.Shape.SliceLength;
        Volume<byte>? image = null;
        for (int z = 0; z < valid.Shape.Z; z++)
        {
            if (!valid.Span.Slice(z * plane, plane).ContainsAnyExcept((byte)0))
            {
                if (image is null)
                {
                    image = valid.Like<byte>();
                    image.Span.Fill(1);
                }

                image.Span.Slice(z * plane, plane).Clear();
            }
        }

        return image;
    }

    /// <summary>What makes a voxel under 0.5 an anchor.</summary>
    /// <param name="Low">The probability under which the network is sure of non-brain; ≤ 0 turns the hysteresis off.</param>
    /// <param name="Confirm">A second view of the same voxels (the wider pass's probabilities), or null for none.</param>
    /// <param name="ConfirmBelow">With <paramref name="Confirm"/>: an anchor must be under this there too.</param>
    /// <param name="Image">The voxels of image (1) against those in no region (0, <see cref="PaddingCode"/>): the lost-section map (<see cref="LostSections"/>); null for none.</param>
    public sealed record Anchors(double Low, Volume<float>? Confirm = null, double ConfirmBelow = 0, Volume<byte>? Image = null)
    {
        internal bool IsAnchor(float p, int i, ReadOnlySpan<float> confirm) =>
            p < Low && (confirm.IsEmpty || confirm[i] < ConfirmBelow);

        internal ReadOnlySpan<float> ConfirmSpan(Volume<float> probability) => SpanOf(Confirm, probability, "The confirming view's", nameof(Confirm));

        internal ReadOnlySpan<byte> ImageSpan(Volume<float> probability) => SpanOf(Image, probability, "The lost-section map's", nameof(Image));

        // The voxels of a volume that goes with the probabilities (empty for none), after checking its shape.
        private static ReadOnlySpan<T> SpanOf<T>(Volume<T>? volume, Volume<float> probability, string what, string name)
            where T : unmanaged
        {
            if (volume is null)
            {
                return default;
            }

            if (volume.Shape != probability.Shape)
            {
                throw new ArgumentException($"{what} shape {volume.Shape} differs from the probabilities' {probability.Shape}.", name);
            }

            return volume.Span;
        }
    }

    /// <summary>
    /// Raises every non-brain region of <paramref name="probability"/> that holds no anchor (<paramref name="anchors"/>)
    /// to <see cref="ProbabilityMask.Threshold"/> (tissue), in place; returns the number of voxels raised.
    /// <see cref="Anchors.Low"/> ≤ 0 changes nothing.
    /// </summary>
    public static long Apply(Volume<float> probability, Anchors anchors, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(probability);
        ArgumentNullException.ThrowIfNull(anchors);
        if (!(anchors.Low > 0))
        {
            return 0;
        }

        var coded = Coded(probability, anchors);
        var keep = AnchoredRegions(coded, ct, out var labels);
        var p = probability.Span;
        var l = labels.Span;
        long raised = 0;
        for (int i = 0; i < p.Length; i++)
        {
            if (l[i] != 0 && !keep[l[i]])
            {
                p[i] = ProbabilityMask.Threshold;
                raised++;
            }
        }

        return raised;
    }

    /// <summary>
    /// The mask with its anchors marked: 1 tissue, 0 non-brain, <see cref="AnchorCode"/> non-brain anchors
    /// (<paramref name="anchors"/>), <see cref="PaddingCode"/> lost sections (for a block-wise run, whose regions are
    /// merged across blocks before they are resolved).
    /// </summary>
    public static Volume<byte> Coded(Volume<float> probability, Anchors anchors)
    {
        ArgumentNullException.ThrowIfNull(probability);
        ArgumentNullException.ThrowIfNull(anchors);
        var mask = probability.Like<byte>();
        var p = probability.Span;
        var confirm = anchors.ConfirmSpan(probability);
        var image = anchors.ImageSpan(probability);
        var m = mask.Span;
        for (int i = 0; i < m.Length; i++)
        {
            m[i] = !image.IsEmpty && image[i] == 0 ? PaddingCode
                : p[i] >= ProbabilityMask.Threshold ? (byte)1
                : anchors.IsAnchor(p[i], i, confirm) ? AnchorCode : (byte)0;
        }

        return mask;
    }

    /// <summary>
    /// Where the confirming pass at <paramref name="factor"/> times the input's resolution must run, as a skip score (1
    /// run, 0 skip): every voxel that could be an anchor (under <paramref name="low"/>, inside the envelope where there is
    /// one; outside it both passes are gated to 0), grown by <paramref name="factor"/> voxels per axis. Every coarse cell
    /// such a voxel's upsampled value interpolates from then holds a marked voxel, so all of that cell's windows run and
    /// the anchors see exactly the values of an unskipped pass.
    /// </summary>
    public static Volume<float> ConfirmationScore(Volume<float> probability, Volume<byte>? envelope, double low, int factor, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(probability);
        ArgumentOutOfRangeException.ThrowIfLessThan(factor, 1);
        var candidates = probability.Like<byte>();
        var p = probability.Span;
        var inside = envelope is null ? default : envelope.Span;
        var c = candidates.Span;
        for (int i = 0; i < c.Length; i++)
        {
            c[i] = p[i] < low && (inside.IsEmpty || inside[i] != 0) ? (byte)1 : (byte)0;
        }

        BoxMaximum.Apply(candidates, factor, planar: false, ct);
        return TissueEnvelope.AsSkipScore(candidates);
    }

    /// <summary>Every voxel of a coded mask not coded tissue (1), as 1: non-brain, anchors, padding.</summary>
    public static Volume<byte> NonBrain(Volume<byte> coded)
    {
        ArgumentNullException.ThrowIfNull(coded);
        var back = coded.Like<byte>();
        var c = coded.Span;
        var b = back.Span;
        for (int i = 0; i < b.Length; i++)
        {
            b[i] = c[i] == 1 ? (byte)0 : (byte)1;
        }

        return back;
    }

    /// <summary>The voxels of a coded mask that the hysteresis's regions are made of, as 1: non-brain and anchors (not tissue, not lost sections).</summary>
    public static Volume<byte> Regions(Volume<byte> coded)
    {
        ArgumentNullException.ThrowIfNull(coded);
        var regions = coded.Like<byte>();
        var c = coded.Span;
        var r = regions.Span;
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = c[i] is 0 or AnchorCode ? (byte)1 : (byte)0;
        }

        return regions;
    }

    // Per label of the non-brain regions: whether it holds an anchor.
    private static bool[] AnchoredRegions(Volume<byte> coded, CancellationToken ct, out Volume<int> labels)
    {
        var labelled = ConnectedComponents.Label(Regions(coded), Connectivity.Face, ct);
        labels = labelled.Labels;
        var keep = new bool[labelled.Count + 1];
        var c = coded.Span;
        var l = labels.Span;
        for (int i = 0; i < c.Length; i++)
        {
            if (c[i] == AnchorCode)
            {
                keep[l[i]] = true;
            }
        }

        return keep;
    }
}
