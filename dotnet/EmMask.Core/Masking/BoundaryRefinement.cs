using EmMask.Core.Filters;
using EmMask.Core.Morphology;
using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// Puts the mask's boundary back on the image's own edge. The texture vote decides where tissue is, but its window
/// spreads tissue texture out into resin by a few voxels of the working level (a halo of up to 3·2^level voxels): the
/// boundary is therefore decided anew inside that band, by a marker-controlled watershed on the gradient magnitude of
/// the (stabilised) image. Markers: tissue where the mask lies deeper than the halo, non-brain where it lies more than
/// 2 voxels outside; the floods meet on the strongest edge in between, which is the tissue's surface.
/// </summary>
internal static class BoundaryRefinement
{
    /// <summary>Halo depth in working-level voxels: tissue markers lie deeper than this in the coarse mask.</summary>
    public const double HaloLevelVoxels = 5;

    /// <summary>Non-brain markers lie more than this many voxels (full resolution) outside the coarse mask.</summary>
    public const double OutsideMargin = 2;

    /// <summary>Gradient scale in working-level voxels (at least 1 full-resolution voxel).</summary>
    public const double GradientLevelVoxels = 0.5;

    /// <summary>Refines <paramref name="mask"/> in place; returns false (mask unchanged) when one kind of marker is missing.</summary>
    public static bool Refine(Volume<byte> mask, Volume<float> image, Volume<byte>? valid, int level, CancellationToken ct)
    {
        int factor = 1 << level;
        var unit = new VoxelSize(1, 1, 1);
        var inside = new Volume<byte>(mask.Shape, mask.Memory.ToArray(), unit);
        var depth = EuclideanDistanceTransform.ComputeSquared(inside, ct);
        var outside = new Volume<byte>(mask.Shape, unit);
        var m = mask.Span;
        var o = outside.Span;
        for (int i = 0; i < m.Length; i++)
        {
            o[i] = m[i] == 0 ? (byte)1 : (byte)0;
        }

        var distance = EuclideanDistanceTransform.ComputeSquared(outside, ct);
        var labels = new Volume<byte>(mask.Shape, unit);
        var l = labels.Span;
        var d = depth.Span;
        var e = distance.Span;
        var ok = (valid is null ? default : valid.Span);
        double halo = HaloLevelVoxels * factor;
        float halo2 = (float)(halo * halo), margin2 = (float)(OutsideMargin * OutsideMargin);
        bool anyTissue = false, anyResin = false;
        for (int i = 0; i < l.Length; i++)
        {
            if (!ok.IsEmpty && ok[i] == 0)
            {
                continue;
            }

            if (m[i] != 0 && d[i] > halo2)
            {
                l[i] = 2;
                anyTissue = true;
            }
            else if (m[i] == 0 && e[i] > margin2)
            {
                l[i] = 1;
                anyResin = true;
            }
        }

        if (!anyTissue || !anyResin)
        {
            return false;
        }

        double sigma = Math.Max(1.0, GradientLevelVoxels * factor);
        var relief = image.Like<float>();
        GaussianGradientMagnitude.Apply(image, relief, Sigma3.Isotropic(sigma), ct);
        SeededWatershed.Flood(relief, labels, valid, planar: false, ct);
        for (int i = 0; i < m.Length; i++)
        {
            m[i] = l[i] == 2 ? (byte)1 : (byte)0;
        }

        return true;
    }
}
