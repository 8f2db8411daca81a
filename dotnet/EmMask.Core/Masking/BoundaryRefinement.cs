using EmMask.Core.Filters;
using EmMask.Core.Morphology;
using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// Puts the mask's boundary back on the image's own edge. The texture vote decides where tissue is, but its window
/// spreads tissue texture out into resin by a few voxels of the working level (a halo of up to 3·2^level voxels): the
/// boundary is therefore decided anew inside that band, by a marker-controlled watershed on the gradient magnitude of
/// the (stabilised) image. Markers: tissue where the mask lies deeper than the halo, non-brain where it lies more than
/// 2 voxels outside; the floods meet on the strongest edge in between, which is the tissue's surface. Where the
/// section's resin is known, a voxel outside within the halo is a marker only if it looks like resin (within
/// <see cref="ResinTrim.Window"/> robust spreads of its intensity): tissue the vote left out because it is as smooth as
/// resin (a stained edge at coarse pixels) is then decided by the flood, on the resin's edge.
/// </summary>
/// <remarks>
/// The watershed runs in fixed tiles of the whole volume (<see cref="TileSize"/> voxels, anchored at the volume's origin),
/// each flooded within its core plus <see cref="Reach"/> voxels of context, and writes only its core. A flood therefore
/// never depends on anything further away than that, so a block that holds a tile's context refines it exactly as the
/// whole volume does (<see cref="Blockwise.ClassicalBlockwise"/>): block-wise masks equal in-memory ones.
/// </remarks>
internal static class BoundaryRefinement
{
    /// <summary>Halo depth in working-level voxels at levels above 0: tissue markers lie deeper than this in the coarse mask.</summary>
    public const double HaloLevelVoxels = 5;

    /// <summary>
    /// Halo depth (voxels) at level 0, where nothing is upsampled: the texture window alone spreads tissue 1–3 voxels into
    /// the resin (development phantoms 3001–3024: 86 % of the false tissue lies within 3 voxels of the surface), and a
    /// deeper band lets the flood settle on inner edges of weakly contrasted tissue.
    /// </summary>
    public const double FullResolutionHalo = 2;

    /// <summary>Halo depth (full-resolution voxels) at <paramref name="level"/>: tissue markers lie deeper than this.</summary>
    public static double HaloVoxels(int level) => level == 0 ? FullResolutionHalo : HaloLevelVoxels * (1 << level);

    /// <summary>Non-brain markers lie more than this many voxels (full resolution) outside the coarse mask.</summary>
    public const double OutsideMargin = 2;

    /// <summary>
    /// Resin rule weight (<see cref="ResinRule"/>, brought to full resolution) from which a voxel is a non-brain marker
    /// wherever it lies: narrow resin between pieces of tissue (a few cells of the working level) is covered by the
    /// coarse mask, so no outside marker reaches it.
    /// </summary>
    public const float ResinMarkerWeight = 0.9f;

    /// <summary>Gradient scale in working-level voxels (at least 1 full-resolution voxel).</summary>
    public const double GradientLevelVoxels = 0.5;

    /// <summary>Tile edge (voxels): 128 at every level, so a block of a level-3 run still fits in a 1 GB budget.</summary>
    public static int TileSize(int level) => level >= 0 ? 128 : throw new ArgumentOutOfRangeException(nameof(level));

    /// <summary>Context (voxels) a tile's flood sees around its core: the marker halo, the outside margin and a little more.</summary>
    public static int FloodReach(int level) => (int)Math.Ceiling(HaloVoxels(level) + OutsideMargin) + 2;

    /// <summary>All the context a tile needs from the unrefined mask and the image: the flood's reach plus the gradient's kernel.</summary>
    public static int Reach(int level) => FloodReach(level) + GradientRadius(level);

    private static double GradientSigma(int level) => Math.Max(1.0, GradientLevelVoxels * (1 << level));

    private static int GradientRadius(int level) => (int)((4.0 * GradientSigma(level)) + 0.5) + 1;

    /// <summary>Refines a whole volume's mask in place; false when no tile changed anything.</summary>
    public static bool Refine(Volume<byte> mask, Volume<float> image, Volume<byte>? valid, int level, CancellationToken ct) =>
        Refine(mask, image, valid, null, null, level, (0, 0, 0), mask.Shape, null, ct);

    /// <summary>
    /// Refines <paramref name="mask"/> in place over the tiles that meet <paramref name="region"/> (offset and size in the
    /// mask's own coordinates; the whole mask when null). <paramref name="origin"/> is the mask's offset in the volume
    /// and <paramref name="volume"/> the volume's shape, so tiles line up with the whole volume's. Returns false when
    /// no tile changed anything. <paramref name="resinIntensity"/> is the section's resin where it is known (null: not known):
    /// then only resin-like voxels within the halo outside the mask are resin markers.
    /// </summary>
    public static bool Refine(Volume<byte> mask, Volume<float> image, Volume<byte>? valid, Volume<byte>? resin, ResinIntensity? resinIntensity, int level, (int Z, int Y, int X) origin, Shape3 volume, ((int Z, int Y, int X) Offset, Shape3 Size)? region, CancellationToken ct)
    {
        var shape = mask.Shape;
        var (ro, rs) = region ?? ((0, 0, 0), shape);
        int tile = TileSize(level);
        int flood = FloodReach(level), reach = Reach(level);
        var before = mask.Clone();
        bool changed = false;

        // Tiles (global grid) that meet the region.
        var gz = Range(origin.Z + ro.Z, rs.Z, tile);
        var gy = Range(origin.Y + ro.Y, rs.Y, tile);
        var gx = Range(origin.X + ro.X, rs.X, tile);
        for (int tz = gz.First; tz <= gz.Last; tz++)
        {
            for (int ty = gy.First; ty <= gy.Last; ty++)
            {
                for (int tx = gx.First; tx <= gx.Last; tx++)
                {
                    ct.ThrowIfCancellationRequested();
                    var core = Box((tz * tile, ty * tile, tx * tile), tile, 0, volume);
                    var window = Box(core.Offset, tile, flood, volume);
                    var context = Box(core.Offset, tile, reach, volume);
                    var write = Intersect(core, (Add(origin, ro), rs));
                    if (write.Size.IsEmpty)
                    {
                        continue;
                    }

                    changed |= RefineTile(before, mask, image, valid, resin, resinIntensity, level, origin, shape, window, context, write, ct);
                }
            }
        }

        return changed;
    }

    private static bool RefineTile(Volume<byte> before, Volume<byte> mask, Volume<float> image, Volume<byte>? valid, Volume<byte>? resin, ResinIntensity? resinIntensity, int level, (int Z, int Y, int X) origin, Shape3 shape, ((int Z, int Y, int X) Offset, Shape3 Size) window, ((int Z, int Y, int X) Offset, Shape3 Size) context, ((int Z, int Y, int X) Offset, Shape3 Size) write, CancellationToken ct)
    {
        var local = Sub(window.Offset, origin);
        var contextLocal = Sub(context.Offset, origin);
        if (contextLocal.Z < 0 || contextLocal.Y < 0 || contextLocal.X < 0
            || contextLocal.Z + context.Size.Z > shape.Z || contextLocal.Y + context.Size.Y > shape.Y || contextLocal.X + context.Size.X > shape.X)
        {
            throw new InvalidOperationException($"A refinement tile's context {context} leaves the block at {origin} of {shape}: the block's halo is too small.");
        }

        var unit = new VoxelSize(1, 1, 1);
        var m = Crop(before, local, window.Size);
        var flat = resin is null ? null : Crop(resin, local, window.Size);
        bool anyFlat = flat is not null && flat.Span.IndexOfAnyExcept((byte)0) >= 0;
        if (m.Span.IndexOfAnyExcept((byte)0) < 0 || (m.Span.IndexOfAnyExcept((byte)1) < 0 && !anyFlat))
        {
            return false; // all resin, or all tissue without resin inside: no boundary, so no marker of one kind
        }

        var ok = valid is null ? null : Crop(valid, local, window.Size);
        var inside = new Volume<byte>(m.Shape, m.Memory.ToArray(), unit);
        var depth = EuclideanDistanceTransform.ComputeSquared(inside, ct);
        var outside = new Volume<byte>(m.Shape, unit);
        var ms = m.Span;
        var o = outside.Span;
        for (int i = 0; i < ms.Length; i++)
        {
            o[i] = ms[i] == 0 ? (byte)1 : (byte)0;
        }

        var distance = EuclideanDistanceTransform.ComputeSquared(outside, ct);
        var labels = new Volume<byte>(m.Shape, unit);
        var l = labels.Span;
        var d = depth.Span;
        var e = distance.Span;
        var oks = ok is null ? default : ok.Span;
        double halo = HaloVoxels(level);
        float halo2 = (float)(halo * halo), margin2 = (float)(OutsideMargin * OutsideMargin);
        bool anyTissue = false, anyResin = false;
        var fs = flat is null ? default : flat.Span;
        var smoothed = resinIntensity is null ? default : Crop(resinIntensity.Smoothed, local, window.Size).Span;
        for (int i = 0; i < l.Length; i++)
        {
            if (!oks.IsEmpty && oks[i] == 0)
            {
                continue;
            }

            if (!fs.IsEmpty && fs[i] != 0)
            {
                l[i] = 1; // flat material at the resin's intensity: resin, however deep in the coarse mask
                anyResin = true;
            }
            else if (ms[i] != 0 && d[i] > halo2)
            {
                l[i] = 2;
                anyTissue = true;
            }
            else if (ms[i] == 0 && e[i] > margin2 && (smoothed.IsEmpty || e[i] > halo2 || ResinTrim.IsResinLike(smoothed[i], resinIntensity!)))
            {
                l[i] = 1;
                anyResin = true;
            }
        }

        if (!anyTissue || !anyResin)
        {
            return false;
        }

        // Gradient on the context, cropped to the window: the same values wherever the tile is computed.
        var picture = Crop(image, contextLocal, context.Size);
        var relief = picture.Like<float>();
        GaussianGradientMagnitude.Apply(picture, relief, Sigma3.Isotropic(GradientSigma(level)), ct);
        var reliefWindow = Crop(relief, Sub(window.Offset, context.Offset), window.Size);
        SeededWatershed.Flood(reliefWindow, labels, ok, planar: false, ct);

        var w = Sub(write.Offset, window.Offset);
        var target = Sub(write.Offset, origin);
        for (int z = 0; z < write.Size.Z; z++)
        {
            for (int y = 0; y < write.Size.Y; y++)
            {
                var from = labels.Row(w.Z + z, w.Y + y).Slice(w.X, write.Size.X);
                var to = mask.Row(target.Z + z, target.Y + y).Slice(target.X, write.Size.X);
                for (int x = 0; x < from.Length; x++)
                {
                    to[x] = from[x] == 2 ? (byte)1 : (byte)0;
                }
            }
        }

        return true;
    }

    private static (int First, int Last) Range(int start, int length, int tile) => (start / tile, (start + length - 1) / tile);

    private static ((int Z, int Y, int X) Offset, Shape3 Size) Box((int Z, int Y, int X) corner, int tile, int margin, Shape3 volume)
    {
        static (int, int) Axis(int c, int tile, int margin, int length)
        {
            int lo = Math.Max(0, c - margin);
            int hi = Math.Min(length, c + tile + margin);
            return (lo, Math.Max(0, hi - lo));
        }

        var (z, nz) = Axis(corner.Z, tile, margin, volume.Z);
        var (y, ny) = Axis(corner.Y, tile, margin, volume.Y);
        var (x, nx) = Axis(corner.X, tile, margin, volume.X);
        return ((z, y, x), new Shape3(nz, ny, nx));
    }

    private static ((int Z, int Y, int X) Offset, Shape3 Size) Intersect(((int Z, int Y, int X) Offset, Shape3 Size) a, ((int Z, int Y, int X) Offset, Shape3 Size) b)
    {
        int z0 = Math.Max(a.Offset.Z, b.Offset.Z), y0 = Math.Max(a.Offset.Y, b.Offset.Y), x0 = Math.Max(a.Offset.X, b.Offset.X);
        int z1 = Math.Min(a.Offset.Z + a.Size.Z, b.Offset.Z + b.Size.Z);
        int y1 = Math.Min(a.Offset.Y + a.Size.Y, b.Offset.Y + b.Size.Y);
        int x1 = Math.Min(a.Offset.X + a.Size.X, b.Offset.X + b.Size.X);
        return ((z0, y0, x0), new Shape3(Math.Max(0, z1 - z0), Math.Max(0, y1 - y0), Math.Max(0, x1 - x0)));
    }

    private static (int Z, int Y, int X) Add((int Z, int Y, int X) a, (int Z, int Y, int X) b) => (a.Z + b.Z, a.Y + b.Y, a.X + b.X);

    private static (int Z, int Y, int X) Sub((int Z, int Y, int X) a, (int Z, int Y, int X) b) => (a.Z - b.Z, a.Y - b.Y, a.X - b.X);

    private static Volume<T> Crop<T>(Volume<T> v, (int Z, int Y, int X) offset, Shape3 size)
        where T : unmanaged
    {
        if (offset == (0, 0, 0) && size == v.Shape)
        {
            return v;
        }

        return VolumeRegions.Crop(v, offset, size);
    }
}
