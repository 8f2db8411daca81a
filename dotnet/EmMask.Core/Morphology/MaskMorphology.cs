using EmMask.Core.Labeling;
using EmMask.Core.Volumes;

namespace EmMask.Core.Morphology;

/// <summary>
/// In-place morphology and clean-up of 0/1 masks. Every method rewrites the caller's buffer (a wrapped numpy array
/// changes too) and leaves it 0/1.
/// <para>
/// Structuring elements are exact Euclidean balls (disks per slice) built from the distance transform: a voxel is in the
/// dilation by r iff its distance to the nearest foreground voxel is ≤ r, and survives the erosion by r iff its distance to
/// the nearest background voxel is &gt; r. That equals scipy's <c>binary_dilation</c>/<c>binary_erosion</c> with the
/// footprint <c>{o : |o| ≤ r}</c> and <c>border_value=1</c> for erosion: space outside the volume is never background,
/// so a mask touching the edge of the stack is not eaten from the edge. Distances within a relative 1e-6 of r count as r,
/// so voxels exactly on the ball's surface are included despite floating-point rounding of physical spacings.
/// </para>
/// </summary>
public static class MaskMorphology
{
    private const double RadiusTolerance = 1e-6;

    /// <summary>Voxels per slab of a per-slice operation: its float scratch stays 64 MB however large the volume.</summary>
    private const long SlabVoxels = 16L << 20;

    // Per-slice work on a large volume, slab by slab of whole sections (the same result: sections are independent).
    private static bool InSlabs(Volume<byte> mask, Action<Volume<byte>> apply)
    {
        var shape = mask.Shape;
        if (shape.Length <= SlabVoxels || shape.Z <= 1)
        {
            return false;
        }

        int depth = (int)Math.Max(1, SlabVoxels / shape.SliceLength);
        for (int z = 0; z < shape.Z; z += depth)
        {
            int n = Math.Min(depth, shape.Z - z);
            apply(new Volume<byte>(new Shape3(n, shape.Y, shape.X), mask.Memory.Slice(z * shape.SliceLength, n * shape.SliceLength), mask.VoxelSize));
        }

        return true;
    }

    /// <summary>Opening (erosion then dilation) with a Euclidean ball, or a disk in each z slice when <paramref name="perSlice"/>.</summary>
    /// <param name="mask">Mask, changed in place.</param>
    /// <param name="radius">Radius in voxels (voxel size is ignored), ≥ 0; 0 leaves the mask unchanged.</param>
    /// <param name="perSlice">True: 2D disk in every z slice independently; false: 3D ball.</param>
    /// <param name="ct">Cancels the work (the mask may then be half processed).</param>
    public static void Open(Volume<byte> mask, double radius, bool perSlice, CancellationToken ct = default)
    {
        CheckDistance(mask, radius, nameof(radius));
        if (perSlice && InSlabs(mask, slab => Open(slab, radius, perSlice: true, ct)))
        {
            return;
        }

        var scratch = Scratch(mask, radius);
        ErodeCore(mask, VoxelSize.Isotropic, radius, perSlice, scratch, ct);
        DilateCore(mask, VoxelSize.Isotropic, radius, perSlice, scratch, ct);
    }

    /// <summary>Closing (dilation then erosion) with a Euclidean ball, or a disk in each z slice when <paramref name="perSlice"/>.</summary>
    /// <param name="mask">Mask, changed in place.</param>
    /// <param name="radius">Radius in voxels (voxel size is ignored), ≥ 0; 0 leaves the mask unchanged.</param>
    /// <param name="perSlice">True: 2D disk in every z slice independently; false: 3D ball.</param>
    /// <param name="ct">Cancels the work.</param>
    public static void Close(Volume<byte> mask, double radius, bool perSlice, CancellationToken ct = default)
    {
        CheckDistance(mask, radius, nameof(radius));
        if (perSlice && InSlabs(mask, slab => Close(slab, radius, perSlice: true, ct)))
        {
            return;
        }

        var scratch = Scratch(mask, radius);
        DilateCore(mask, VoxelSize.Isotropic, radius, perSlice, scratch, ct);
        ErodeCore(mask, VoxelSize.Isotropic, radius, perSlice, scratch, ct);
    }

    /// <summary>Dilates by a physical distance: every voxel within <paramref name="distance"/> of the mask (using <see cref="Volume{T}.VoxelSize"/>) becomes 1.</summary>
    /// <param name="mask">Mask, changed in place. An empty mask stays empty.</param>
    /// <param name="distance">Distance in the voxel size's unit (nm by convention), ≥ 0; with unit voxel size this is voxels.</param>
    /// <param name="ct">Cancels the work.</param>
    public static void Grow(Volume<byte> mask, double distance, CancellationToken ct = default)
    {
        CheckDistance(mask, distance, nameof(distance));
        DilateCore(mask, mask.VoxelSize, distance, planar: false, Scratch(mask, distance), ct);
    }

    /// <summary>Erodes by a physical distance: keeps the voxels farther than <paramref name="distance"/> from every background voxel.</summary>
    /// <param name="mask">Mask, changed in place. A full mask stays full (outside the volume is not background).</param>
    /// <param name="distance">Distance in the voxel size's unit, ≥ 0.</param>
    /// <param name="ct">Cancels the work.</param>
    public static void Erode(Volume<byte> mask, double distance, CancellationToken ct = default)
    {
        CheckDistance(mask, distance, nameof(distance));
        ErodeCore(mask, mask.VoxelSize, distance, planar: false, Scratch(mask, distance), ct);
    }

    /// <summary>Erodes every z section on its own by a disk: keeps the voxels farther than <paramref name="radius"/> voxels (in-plane) from every background voxel of their section.</summary>
    /// <param name="mask">Mask, changed in place. A full section stays full (outside the volume is not background).</param>
    /// <param name="radius">Radius in voxels (voxel size is ignored), ≥ 0; 0 leaves the mask unchanged.</param>
    /// <param name="ct">Cancels the work.</param>
    public static void ErodeSections(Volume<byte> mask, double radius, CancellationToken ct = default)
    {
        CheckDistance(mask, radius, nameof(radius));
        if (InSlabs(mask, slab => ErodeSections(slab, radius, ct)))
        {
            return;
        }

        ErodeCore(mask, VoxelSize.Isotropic, radius, planar: true, Scratch(mask, radius), ct);
    }

    /// <summary>Keeps the <paramref name="count"/> largest connected components (ties go to the one first in scan order) and clears the rest.</summary>
    /// <param name="mask">Mask, changed in place. An empty mask is left as is.</param>
    /// <param name="count">Components to keep, ≥ 1.</param>
    /// <param name="connectivity">Neighbourhood that defines a component.</param>
    /// <param name="ct">Cancels the work.</param>
    /// <returns>The number of components the mask held before the call (so min(count, result) were kept).</returns>
    public static int KeepLargestComponents(Volume<byte> mask, int count = 1, Connectivity connectivity = Connectivity.Face, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        connectivity.Validate();
        var runs = RunLabeling.Compute(mask.Memory, mask.Shape, connectivity, foregroundIsZero: false, ct);
        if (runs.Count <= count)
        {
            return runs.Count;
        }

        var sizes = runs.Sizes(mask.Shape.Length);
        var order = Enumerable.Range(1, runs.Count).ToArray();
        Array.Sort(order, (a, b) => sizes[a] != sizes[b] ? sizes[b].CompareTo(sizes[a]) : a.CompareTo(b));
        var remove = new bool[runs.Count + 1];
        for (int i = count; i < order.Length; i++)
        {
            remove[order[i]] = true;
        }

        runs.Paint(mask.Memory, remove, 0, ct);
        return runs.Count;
    }

    /// <summary>
    /// Fills holes: background voxels not connected (6-connectivity, 4 per slice) to the border of the volume, or of
    /// their z slice when <paramref name="perSlice"/>, become 1. Matches <c>scipy.ndimage.binary_fill_holes</c>
    /// on the volume or on each slice. Idempotent.
    /// </summary>
    /// <param name="mask">Mask, changed in place.</param>
    /// <param name="perSlice">True: fill each z slice as a 2D image; false: 3D (a volume with one slice then has no holes, every voxel touches its z faces).</param>
    /// <param name="ct">Cancels the work.</param>
    public static void FillHoles(Volume<byte> mask, bool perSlice, CancellationToken ct = default) => FillHoles(mask, perSlice, null, 1, ct);

    /// <summary>
    /// Fills holes as <see cref="FillHoles(Volume{byte}, bool, CancellationToken)"/> does, except a hole that holds at least
    /// <paramref name="minimumMarked"/> voxels that are nonzero in <paramref name="keepOpen"/> (material known to be
    /// non-brain), which stays open.
    /// </summary>
    /// <param name="mask">Mask, changed in place.</param>
    /// <param name="perSlice">True: fill each z slice as a 2D image; false: 3D.</param>
    /// <param name="keepOpen">Same shape as <paramref name="mask"/>; null fills every hole.</param>
    /// <param name="minimumMarked">Marked voxels that keep a hole open (at least 1).</param>
    /// <param name="ct">Cancels the work.</param>
    public static void FillHoles(Volume<byte> mask, bool perSlice, Volume<byte>? keepOpen, long minimumMarked, CancellationToken ct = default) =>
        FillHoles(mask, perSlice, keepOpen, minimumMarked, borderKeepsOpen: true, ct);

    private static void FillHoles(Volume<byte> mask, bool perSlice, Volume<byte>? keepOpen, long minimumMarked, bool borderKeepsOpen, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(mask);
        var shape = mask.Shape;
        if (keepOpen is not null && keepOpen.Shape != shape)
        {
            throw new ArgumentException($"The keep-open mask's shape {keepOpen.Shape} differs from the mask's {shape}.", nameof(keepOpen));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(minimumMarked, 1);
        if (shape.IsEmpty)
        {
            return;
        }

        if (!perSlice)
        {
            FillHolesCore(mask.Memory, keepOpen?.Memory, minimumMarked, shape, borderKeepsOpen, includeZBorder: true, ct);
            return;
        }

        var sliceShape = new Shape3(1, shape.Y, shape.X);
        Parallel.For(0, shape.Z, new ParallelOptions { CancellationToken = ct }, z =>
            FillHolesCore(mask.Memory.Slice(z * shape.SliceLength, shape.SliceLength), keepOpen?.Memory.Slice(z * shape.SliceLength, shape.SliceLength), minimumMarked, sliceShape, borderKeepsOpen, includeZBorder: false, ct));
    }

    /// <summary>
    /// Fills every background component (6-connected; 4-connected per slice when <paramref name="perSlice"/>) that holds
    /// fewer than <paramref name="minimumMarked"/> voxels that are nonzero in <paramref name="marks"/>, whether or not it
    /// touches the border: where what is non-brain is known by its marks, unmarked background is a hole.
    /// </summary>
    /// <param name="mask">Mask, changed in place.</param>
    /// <param name="perSlice">True: each z slice as a 2D image; false: 3D.</param>
    /// <param name="marks">Same shape as <paramref name="mask"/>: material known to be non-brain.</param>
    /// <param name="minimumMarked">Marked voxels that keep a component open (at least 1).</param>
    /// <param name="ct">Cancels the work.</param>
    public static void FillUnmarked(Volume<byte> mask, bool perSlice, Volume<byte> marks, long minimumMarked, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(marks);
        FillHoles(mask, perSlice, marks, minimumMarked, borderKeepsOpen: false, ct);
    }

    /// <summary>Removes connected components smaller than <paramref name="minimumVoxels"/>.</summary>
    /// <param name="mask">Mask, changed in place.</param>
    /// <param name="minimumVoxels">Components with fewer voxels are cleared; ≥ 0 (0 and 1 remove nothing).</param>
    /// <param name="connectivity">Neighbourhood that defines a component.</param>
    /// <param name="ct">Cancels the work.</param>
    /// <returns>The number of voxels cleared.</returns>
    public static long RemoveSmallRegions(Volume<byte> mask, long minimumVoxels, Connectivity connectivity = Connectivity.Face, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentOutOfRangeException.ThrowIfNegative(minimumVoxels);
        connectivity.Validate();
        if (minimumVoxels <= 1)
        {
            return 0;
        }

        var runs = RunLabeling.Compute(mask.Memory, mask.Shape, connectivity, foregroundIsZero: false, ct);
        var sizes = runs.Sizes(mask.Shape.Length);
        var remove = new bool[runs.Count + 1];
        bool any = false;
        for (int k = 1; k <= runs.Count; k++)
        {
            remove[k] = sizes[k] < minimumVoxels;
            any |= remove[k];
        }

        return any ? runs.Paint(mask.Memory, remove, 0, ct) : 0;
    }

    private static void FillHolesCore(Memory<byte> data, Memory<byte>? keepOpen, long minimumMarked, Shape3 shape, bool borderKeepsOpen, bool includeZBorder, CancellationToken ct)
    {
        var runs = RunLabeling.Compute(data, shape, Connectivity.Face, foregroundIsZero: true, ct);
        if (runs.Count == 0)
        {
            return;
        }

        var fill = new bool[runs.Count + 1];
        Array.Fill(fill, true);
        fill[0] = false;
        for (int r = 0; r < shape.Z * shape.Y && borderKeepsOpen; r++)
        {
            int z = r / shape.Y, y = r % shape.Y;
            bool borderRow = y == 0 || y == shape.Y - 1 || (includeZBorder && (z == 0 || z == shape.Z - 1));
            for (int i = runs.RowStart[r]; i < runs.RowStart[r + 1]; i++)
            {
                if (borderRow || runs.Begin[i] == 0 || runs.End[i] == shape.X)
                {
                    fill[runs.RunLabel[i]] = false;
                }
            }
        }

        if (keepOpen is { } keep)
        {
            // Per hole: the voxels marked to stay open.
            var marked = new long[runs.Count + 1];
            var k = keep.Span;
            for (int r = 0; r < shape.Z * shape.Y; r++)
            {
                for (int i = runs.RowStart[r]; i < runs.RowStart[r + 1]; i++)
                {
                    int label = runs.RunLabel[i];
                    if (!fill[label])
                    {
                        continue;
                    }

                    var row = k.Slice((r * shape.X) + runs.Begin[i], runs.End[i] - runs.Begin[i]);
                    marked[label] += row.Length - row.Count((byte)0);
                }
            }

            for (int label = 1; label < fill.Length; label++)
            {
                fill[label] &= marked[label] < minimumMarked;
            }
        }

        runs.Paint(data, fill, 1, ct);
    }

    // One float per voxel for squared distances, shared by the two halves of an opening or closing; null when there is nothing to do.
    private static float[]? Scratch(Volume<byte> mask, double radius) =>
        radius == 0 || mask.Shape.IsEmpty ? null : GC.AllocateUninitializedArray<float>((int)mask.Shape.Length);

    private static void DilateCore(Volume<byte> mask, VoxelSize spacing, double radius, bool planar, float[]? distance, CancellationToken ct)
    {
        if (distance is null)
        {
            return;
        }

        // Distance to the nearest foreground voxel; +∞ everywhere for an empty mask, which then stays empty.
        float limit = Limit(radius);
        EuclideanDistanceTransform.SquaredDistance(mask.Memory, mask.Shape, spacing, sourceIsNonzero: true, planar, distance, ct, limit);
        Threshold(mask, distance, limit, inside: true, ct);
    }

    private static void ErodeCore(Volume<byte> mask, VoxelSize spacing, double radius, bool planar, float[]? distance, CancellationToken ct)
    {
        if (distance is null)
        {
            return;
        }

        // Distance to the nearest background voxel; +∞ everywhere for a full mask, which then stays full.
        float limit = Limit(radius);
        EuclideanDistanceTransform.SquaredDistance(mask.Memory, mask.Shape, spacing, sourceIsNonzero: false, planar, distance, ct, limit);
        Threshold(mask, distance, limit, inside: false, ct);
    }

    private static float Limit(double radius) => (float)(radius * radius * (1 + RadiusTolerance));

    // inside: mask = d² ≤ limit (dilation); otherwise mask = d² > limit (erosion).
    private static void Threshold(Volume<byte> mask, float[] squared, float limit, bool inside, CancellationToken ct)
    {
        var shape = mask.Shape;
        Parallel.For(0, shape.Z, new ParallelOptions { CancellationToken = ct }, z =>
        {
            int offset = z * shape.SliceLength;
            var dest = mask.Memory.Span.Slice(offset, shape.SliceLength);
            var source = squared.AsSpan(offset, shape.SliceLength);
            for (int i = 0; i < dest.Length; i++)
            {
                dest[i] = (byte)((source[i] <= limit) == inside ? 1 : 0);
            }
        });
    }

    private static void CheckDistance(Volume<byte> mask, double value, string name)
    {
        ArgumentNullException.ThrowIfNull(mask);
        if (!double.IsFinite(value) || value < 0)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number ≥ 0.");
        }
    }
}
