using EmMask.Core.Inference;
using EmMask.Core.Labeling;
using EmMask.Core.Masking;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.Core.Blockwise;

/// <summary>
/// Steps that are global by nature, over a volume stored block by block, with the in-memory answer: 3D hole filling
/// (background components, 6-connected, that touch no face of the volume become tissue), small-region removal
/// (tissue components, 6-connected, counted after filling, below the minimum become non-brain) and keeping the largest
/// components (<c>largest:N</c>; on equal sizes the component met first in block order wins, which may differ from the
/// in-memory scan order). Each block is labelled
/// on its own; labels that meet across a block face are merged with a union-find; the final block is labelled again
/// (labelling is deterministic) and painted from the merged components. Padding (<see cref="ClassicalMasker.InvalidCode"/>)
/// is background for both steps and non-brain in the result, as in memory.
/// </summary>
/// <remarks>Memory: the union-find over all components, and the three upper faces of the blocks still waiting for a neighbour (4 bytes per face voxel).</remarks>
public sealed class BlockComponents
{
    private readonly Func<BlockRegion, Volume<byte>> read;
    private readonly long minimumRegionSize;
    private readonly Components? background;
    private readonly Components? filled;
    private readonly HashSet<int>? kept;

    private BlockComponents(Func<BlockRegion, Volume<byte>> read, long minimumRegionSize, Components? background, Components? filled, HashSet<int>? kept)
    {
        this.read = read;
        this.minimumRegionSize = minimumRegionSize;
        this.background = background;
        this.filled = filled;
        this.kept = kept;
    }

    /// <summary>
    /// Labels every stored pre-mask block and merges the components across block faces (two passes over the store): the
    /// classical masker's global steps. A volume of one section is masked as a section, so its holes are the section's
    /// (its z faces are no border), as in memory.
    /// </summary>
    /// <param name="grid">The blocks.</param>
    /// <param name="store">The stored pre-masks.</param>
    /// <param name="minimumRegionSize">Regions (after filling) below this are removed; ≤ 1 keeps all.</param>
    /// <param name="progress">Stage and fraction.</param>
    /// <param name="ct">Cancels the work.</param>
    /// <param name="holes">What a hole is (<see cref="ClassicalBlockwise.HolesOf"/>); null: background that touches no face of the volume.</param>
    public static BlockComponents Measure(BlockGrid grid, IBlockStore store, long minimumRegionSize, IProgress<ProgressReport>? progress = null, CancellationToken ct = default, HoleRule? holes = null)
    {
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(store);
        return Measure(grid, block => store.Read(block, ct), fillHoles: true, minimumRegionSize, keepLargest: null, progress, ct, holes);
    }

    /// <summary>
    /// Labels every block that <paramref name="read"/> returns (1 tissue, 0 non-brain, <see cref="ClassicalMasker.InvalidCode"/>
    /// padding) and merges the components across block faces: hole filling first when asked, then the region rules.
    /// Background on a face of the volume is no hole (<paramref name="holes"/>: <see cref="HoleRule.Volume"/> when null).
    /// </summary>
    public static BlockComponents Measure(BlockGrid grid, Func<BlockRegion, Volume<byte>> read, bool fillHoles, long minimumRegionSize, int? keepLargest, IProgress<ProgressReport>? progress = null, CancellationToken ct = default, HoleRule? holes = null)
    {
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(read);
        var background = fillHoles ? Components.Merge(grid, read, progress, "holes", ct, holes ?? HoleRule.Volume) : null;
        Components? filled = null;
        HashSet<int>? kept = null;
        if (minimumRegionSize > 1 || keepLargest is not null)
        {
            filled = Components.Merge(grid, block => Filled(read(block), block, background, ct), progress, "regions", ct);
            if (keepLargest is { } count)
            {
                kept = [.. filled.Roots().OrderByDescending(r => filled.Size(r)).ThenBy(r => r).Take(count)];
            }
        }

        return new BlockComponents(read, minimumRegionSize, background, filled, kept);
    }

    /// <summary>The final mask (0/1) of one block's core.</summary>
    public Volume<byte> Final(BlockRegion block, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(block);
        return Final(block, read(block), ct);
    }

    /// <summary>
    /// Per block, what the merged components decide, for workers that finish blocks elsewhere
    /// (<see cref="FinalFromTables"/>, e.g. Dask): whether each local background label is a hole, and whether each local
    /// tissue label (after filling) is kept.
    /// </summary>
    public (bool[] Holes, bool[] Keep) Tables(BlockRegion block)
    {
        ArgumentNullException.ThrowIfNull(block);
        bool[] holes = [];
        if (background is not null)
        {
            int first = background.First(block);
            holes = new bool[background.CountIn(block)];
            for (int k = 0; k < holes.Length; k++)
            {
                holes[k] = background.IsHole(first + k);
            }
        }

        bool[] keep = [];
        if (filled is not null)
        {
            int first = filled.First(block);
            keep = new bool[filled.CountIn(block)];
            for (int k = 0; k < keep.Length; k++)
            {
                int id = first + k;
                keep[k] = filled.Size(id) >= minimumRegionSize && (kept is null || kept.Contains(filled.Root(id)));
            }
        }

        return (holes, keep);
    }

    /// <summary>
    /// A block's final mask from its pre-mask and its <see cref="Tables"/> (labelling is deterministic, so the local
    /// labels are the ones the tables were made for). An empty <paramref name="keep"/> keeps every region.
    /// </summary>
    public static Volume<byte> FinalFromTables(Volume<byte> pre, bool[] holes, bool[] keep, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(pre);
        ArgumentNullException.ThrowIfNull(holes);
        ArgumentNullException.ThrowIfNull(keep);
        var back = Background(pre);
        var labels = ConnectedComponents.Label(back, Connectivity.Face, ct);
        if (labels.Count != holes.Length && holes.Length > 0)
        {
            throw new ArgumentException($"The block has {labels.Count} background components but its table {holes.Length}: a different block or pre-mask.", nameof(holes));
        }

        var mask = pre.Like<byte>();
        var p = pre.Span;
        var m = mask.Span;
        var l = labels.Labels.Span;
        for (int i = 0; i < m.Length; i++)
        {
            m[i] = p[i] == 1 || (holes.Length > 0 && l[i] != 0 && holes[l[i] - 1]) ? (byte)1 : (byte)0;
        }

        if (keep.Length > 0)
        {
            var regions = ConnectedComponents.Label(mask, Connectivity.Face, ct);
            if (regions.Count != keep.Length)
            {
                throw new ArgumentException($"The block has {regions.Count} regions but its table {keep.Length}: a different block or pre-mask.", nameof(keep));
            }

            var r = regions.Labels.Span;
            for (int i = 0; i < m.Length; i++)
            {
                if (r[i] != 0 && !keep[r[i] - 1])
                {
                    m[i] = 0;
                }
            }
        }

        for (int i = 0; i < m.Length; i++)
        {
            if (p[i] == ClassicalMasker.InvalidCode)
            {
                m[i] = 0;
            }
        }

        return mask;
    }

    /// <summary>
    /// <see cref="NonBrainHysteresis"/> over a volume stored block by block as coded masks (<see cref="NonBrainHysteresis.Coded(Volume{float}, NonBrainHysteresis.Anchors)"/>):
    /// the non-brain regions are merged across block faces with a flag for holding an anchor; the returned reader gives
    /// each block's final mask (1 tissue, 0 non-brain), the same as <see cref="NonBrainHysteresis.Apply(Volume{float}, NonBrainHysteresis.Anchors, CancellationToken)"/> on the whole
    /// volume. One pass over the store here, one more as the blocks are read.
    /// </summary>
    public static Func<BlockRegion, Volume<byte>> Hysteresis(BlockGrid grid, Func<BlockRegion, Volume<byte>> read, IProgress<ProgressReport>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(read);
        var regions = new Components { Grid = grid };
        int done = 0;
        foreach (var block in grid.Blocks())
        {
            ct.ThrowIfCancellationRequested();
            var coded = read(block);
            regions.Add(block, NonBrainHysteresis.Regions(coded), ct, coded);
            progress?.Report(new($"hysteresis: block {++done}/{grid.Count}", (double)done / grid.Count));
        }

        // As hole filling, with "flagged" meaning anchored instead of touching a face: unanchored regions become tissue.
        return block => Filled(read(block), block, regions, ct, NonBrainHysteresis.Regions);
    }

    /// <summary>
    /// The components (6-connected, merged across block faces) of the 0/1 masks <paramref name="read"/> returns that hold
    /// a flagged voxel (<see cref="NonBrainHysteresis.AnchorCode"/> in its second volume) and at least
    /// <paramref name="minimumSize"/> voxels: <paramref name="chosen"/> receives each block's voxels of them (0/1), in scan
    /// order. Two passes over the blocks; the union-find is what is held.
    /// </summary>
    public static void FlaggedRegions(BlockGrid grid, Func<BlockRegion, (Volume<byte> Mask, Volume<byte> Flags)> read, long minimumSize, Action<BlockRegion, Volume<byte>> chosen, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(read);
        ArgumentNullException.ThrowIfNull(chosen);
        var regions = new Components { Grid = grid };
        foreach (var block in grid.Blocks())
        {
            ct.ThrowIfCancellationRequested();
            var (mask, flags) = read(block);
            regions.Add(block, mask, ct, flags);
        }

        foreach (var block in grid.Blocks())
        {
            ct.ThrowIfCancellationRequested();
            var mask = read(block).Mask;
            var labels = ConnectedComponents.Label(mask, Connectivity.Face, ct).Labels.Span;
            int first = regions.First(block);
            var result = mask.Like<byte>();
            var r = result.Span;
            for (int i = 0; i < r.Length; i++)
            {
                int id = first + labels[i] - 1;
                r[i] = labels[i] != 0 && regions.TouchesBorder(id) && regions.Size(id) >= minimumSize ? (byte)1 : (byte)0;
            }

            chosen(block, result);
        }
    }

    /// <summary>
    /// Builds the merged components from pre-mask blocks handed in one at a time, in scan order, twice: once for the
    /// holes (<see cref="AddHoles"/>), then once for the regions (<see cref="AddRegions"/>); for callers that cannot hand
    /// over a reader (a Dask client streaming blocks from a store).
    /// </summary>
    /// <param name="grid">The blocks.</param>
    /// <param name="minimumRegionSize">Regions (after filling) below this are removed; ≤ 1 keeps all.</param>
    /// <param name="keepLargest">Keep only this many largest components (then no hole filling: a <c>largest</c> step).</param>
    /// <param name="holes">What a hole is (<see cref="ClassicalBlockwise.HolesOf"/> for the classical global steps); null: <see cref="HoleRule.Volume"/>.</param>
    public sealed class Builder(BlockGrid grid, long minimumRegionSize, int? keepLargest = null, HoleRule? holes = null)
    {
        private readonly Components background = Components.ForBackground(grid, holes ?? HoleRule.Volume);
        private readonly Components filled = new() { Grid = grid };

        /// <summary>Pass 1: a block's pre-mask, for the holes (skipped by a <c>largest</c> builder).</summary>
        public void AddHoles(BlockRegion block, Volume<byte> pre, CancellationToken ct = default)
        {
            if (keepLargest is null)
            {
                background.AddBackground(block, pre, ct);
            }
        }

        /// <summary>Pass 2 (after every block went through pass 1): the same pre-mask, for the regions.</summary>
        public void AddRegions(BlockRegion block, Volume<byte> pre, CancellationToken ct = default) =>
            filled.Add(block, Filled(pre, block, keepLargest is null ? background : null, ct), ct);

        /// <summary>The result (its <see cref="Final(BlockRegion, CancellationToken)"/> needs the pre-masks again: use <see cref="Final(BlockRegion, Volume{byte}, CancellationToken)"/>).</summary>
        public BlockComponents Build()
        {
            var regions = minimumRegionSize > 1 || keepLargest is not null ? filled : null;
            HashSet<int>? kept = keepLargest is { } count && regions is not null
                ? [.. regions.Roots().OrderByDescending(r => regions.Size(r)).ThenBy(r => r).Take(count)]
                : null;
            return new(_ => throw new InvalidOperationException("This result has no reader; pass the pre-mask."), minimumRegionSize, keepLargest is null ? background : null, regions, kept);
        }
    }

    /// <summary>The final mask (0/1) of one block from its pre-mask.</summary>
    public Volume<byte> Final(BlockRegion block, Volume<byte> pre, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(block);
        ArgumentNullException.ThrowIfNull(pre);
        var mask = Filled(pre, block, background, ct);
        if (filled is not null)
        {
            var labels = ConnectedComponents.Label(mask, Connectivity.Face, ct).Labels.Span;
            int first = filled.First(block);
            var m = mask.Span;
            for (int i = 0; i < m.Length; i++)
            {
                if (labels[i] == 0)
                {
                    continue;
                }

                int id = first + labels[i] - 1;
                if (filled.Size(id) < minimumRegionSize || (kept is not null && !kept.Contains(filled.Root(id))))
                {
                    m[i] = 0;
                }
            }
        }

        var p = pre.Span;
        var f = mask.Span;
        for (int i = 0; i < f.Length; i++)
        {
            if (p[i] == ClassicalMasker.InvalidCode)
            {
                f[i] = 0;
            }
        }

        return mask;
    }

    // Background: every voxel not coded tissue (non-brain, padding), as 1.
    private static Volume<byte> Background(Volume<byte> pre) => NonBrainHysteresis.NonBrain(pre);

    // Tissue after hole filling: tissue, and background whose component is not flagged (touches no face of the volume;
    // for the hysteresis, holds no anchor).
    private static Volume<byte> Filled(Volume<byte> pre, BlockRegion block, Components? background, CancellationToken ct, Func<Volume<byte>, Volume<byte>>? regionsOf = null)
    {
        if (background is null)
        {
            var copy = pre.Like<byte>();
            var from = pre.Span;
            var to = copy.Span;
            for (int i = 0; i < to.Length; i++)
            {
                to[i] = from[i] == 1 ? (byte)1 : (byte)0;
            }

            return copy;
        }

        var back = (regionsOf ?? Background)(pre);
        var labels = ConnectedComponents.Label(back, Connectivity.Face, ct).Labels.Span;
        int first = background.First(block);
        var result = pre.Like<byte>();
        var p = pre.Span;
        var r = result.Span;
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = p[i] == 1 || (labels[i] != 0 && background.IsHole(first + labels[i] - 1)) ? (byte)1 : (byte)0;
        }

        return result;
    }

    /// <summary>Components of a 0/1 mask stored block by block, merged across block faces.</summary>
    private sealed class Components
    {
        private readonly Dictionary<(int, int, int), int> firsts = [];
        private readonly List<int> parent = [];
        private readonly List<long> size = [];
        private readonly List<bool> border = [];
        private readonly List<long> marked = [];
        private readonly List<long> resinLike = [];

        public int First((int Z, int Y, int X) index) => firsts[index];

        public int First(BlockRegion block) => firsts[block.Index];

        public long Size(int id) => size[Find(id)];

        public bool TouchesBorder(int id) => border[Find(id)];

        /// <summary>A background component that is a hole: it touches no face of the volume and holds fewer than <see cref="KeepOpen"/> marked voxels.</summary>
        public bool IsHole(int id) =>
            (!TouchesBorder(id) && (KeepOpen <= 0 || marked[Find(id)] < KeepOpen)) || (Unmarked > 0 && resinLike[Find(id)] < Unmarked);

        /// <summary>Voxels at the resin's intensity or padding (<see cref="ClassicalMasker.IsResinLikeOrPadding"/>) from
        /// which a background component on the border stays open; 0: the border keeps every component open.</summary>
        public long Unmarked { get; init; }

        /// <summary>Marked voxels (<see cref="ClassicalMasker.ResinCode"/>) from which a background component stays open; 0: none.</summary>
        public long KeepOpen { get; init; }

        public int Root(int id) => Find(id);

        public IEnumerable<int> Roots()
        {
            for (int i = 0; i < parent.Count; i++)
            {
                if (Find(i) == i)
                {
                    yield return i;
                }
            }
        }

        private readonly Dictionary<(int, int, int), int> counts = [];
        private readonly Dictionary<(int, int, int), int[]> upperZ = [];
        private readonly Dictionary<(int, int, int), int[]> upperY = [];
        private readonly Dictionary<(int, int, int), int[]> upperX = [];

        public required BlockGrid Grid { get; init; }

        /// <summary>Whether a component on a z face of the volume touches its border.</summary>
        public bool ZFaces { get; init; } = true;

        /// <summary>Empty background components under <paramref name="holes"/>.</summary>
        public static Components ForBackground(BlockGrid grid, HoleRule holes) => new() { Grid = grid, ZFaces = holes.ZFaces, KeepOpen = holes.ResinHole, Unmarked = holes.Unmarked };

        /// <summary>
        /// The components of the 0/1 masks <paramref name="read"/> returns; with <paramref name="background"/>, of the
        /// background of the pre-masks it returns, under that rule (their voxels coded <see cref="ClassicalMasker.ResinCode"/>
        /// counted where it keeps resin holes open).
        /// </summary>
        public static Components Merge(BlockGrid grid, Func<BlockRegion, Volume<byte>> read, IProgress<ProgressReport>? progress, string stage, CancellationToken ct, HoleRule? background = null)
        {
            var c = background is { } rule ? ForBackground(grid, rule) : new Components { Grid = grid };
            int done = 0;
            foreach (var block in grid.Blocks())
            {
                ct.ThrowIfCancellationRequested();
                var volume = read(block);
                if (background is null)
                {
                    c.Add(block, volume, ct);
                }
                else
                {
                    c.AddBackground(block, volume, ct);
                }

                progress?.Report(new($"{stage}: block {++done}/{grid.Count}", (double)done / grid.Count));
            }

            return c;
        }

        /// <summary>
        /// Labels one block's 0/1 mask and merges it with the blocks before it (blocks must come in scan order). A
        /// component is flagged (<see cref="TouchesBorder"/>) where it touches a face of the volume, or, with
        /// <paramref name="anchors"/>, where it holds a voxel coded <see cref="NonBrainHysteresis.AnchorCode"/> there. With
        /// <paramref name="marks"/> (the pre-mask), its voxels coded <see cref="ClassicalMasker.ResinCode"/> are counted.
        /// </summary>
        public void Add(BlockRegion block, Volume<byte> mask, CancellationToken ct, Volume<byte>? anchors = null, Volume<byte>? marks = null)
        {
            if (firsts.ContainsKey(block.Index))
            {
                throw new InvalidOperationException($"Block {block.Name} was added twice.");
            }

            var labelled = ConnectedComponents.Label(mask, Connectivity.Face, ct);
            var labels = labelled.Labels;
            int first = parent.Count;
            firsts[block.Index] = first;
            counts[block.Index] = labelled.Count;
            for (int k = 1; k <= labelled.Count; k++)
            {
                parent.Add(first + k - 1);
                size.Add(labelled.Sizes[k]);
                border.Add(false);
                marked.Add(0);
                resinLike.Add(0);
            }

            if (marks is not null)
            {
                var l = labels.Span;
                var code = marks.Span;
                for (int i = 0; i < l.Length; i++)
                {
                    if (l[i] != 0)
                    {
                        if (ClassicalMasker.HasResinMarker(code[i]))
                        {
                            marked[first + l[i] - 1]++;
                        }

                        if (ClassicalMasker.IsResinLikeOrPadding(code[i]))
                        {
                            resinLike[first + l[i] - 1]++;
                        }
                    }
                }
            }

            var s = block.CoreSize;
            var (iz, iy, ix) = block.Index;
            if (anchors is null)
            {
                MarkBorder(labels, first, block, Grid.Shape);
            }
            else
            {
                MarkAnchors(labels, anchors, first);
            }

            // Merge with the blocks below in z, y and x through their upper faces.
            if (iz > 0 && upperZ.Remove((iz - 1, iy, ix), out var faceZ))
            {
                Join(faceZ, Face(labels, first, 0, 0, s.Y, s.X, (y, x) => (0, y, x)));
            }

            if (iy > 0 && upperY.Remove((iz, iy - 1, ix), out var faceY))
            {
                Join(faceY, Face(labels, first, 0, 0, s.Z, s.X, (z, x) => (z, 0, x)));
            }

            if (ix > 0 && upperX.Remove((iz, iy, ix - 1), out var faceX))
            {
                Join(faceX, Face(labels, first, 0, 0, s.Z, s.Y, (z, y) => (z, y, 0)));
            }

            if (iz + 1 < Grid.Counts.Z)
            {
                upperZ[block.Index] = Face(labels, first, 0, 0, s.Y, s.X, (y, x) => (s.Z - 1, y, x));
            }

            if (iy + 1 < Grid.Counts.Y)
            {
                upperY[block.Index] = Face(labels, first, 0, 0, s.Z, s.X, (z, x) => (z, s.Y - 1, x));
            }

            if (ix + 1 < Grid.Counts.X)
            {
                upperX[block.Index] = Face(labels, first, 0, 0, s.Z, s.Y, (z, y) => (z, y, s.X - 1));
            }
        }

        /// <summary>A block's pre-mask as background components: its non-tissue voxels, those coded <see cref="ClassicalMasker.ResinCode"/> counted where the rule keeps resin holes open.</summary>
        public void AddBackground(BlockRegion block, Volume<byte> pre, CancellationToken ct) =>
            Add(block, Background(pre), ct, marks: KeepOpen > 0 || Unmarked > 0 ? pre : null);

        /// <summary>Number of components labelled in a block.</summary>
        public int CountIn(BlockRegion block) => counts[block.Index];

        // Global ids (label − 1 + first, or −1 for background) of a face, in row order of its two axes.
        private static int[] Face(Volume<int> labels, int first, int a0, int b0, int na, int nb, Func<int, int, (int Z, int Y, int X)> at)
        {
            var face = new int[na * nb];
            for (int a = a0; a < na; a++)
            {
                for (int b = b0; b < nb; b++)
                {
                    var (z, y, x) = at(a, b);
                    int label = labels[z, y, x];
                    face[(a * nb) + b] = label == 0 ? -1 : first + label - 1;
                }
            }

            return face;
        }

        private void Join(int[] lower, int[] upper)
        {
            for (int i = 0; i < lower.Length; i++)
            {
                if (lower[i] >= 0 && upper[i] >= 0)
                {
                    Union(lower[i], upper[i]);
                }
            }
        }

        private void MarkBorder(Volume<int> labels, int first, BlockRegion block, Shape3 volume)
        {
            var s = block.CoreSize;
            var (cz, cy, cx) = block.Core;
            for (int z = 0; z < s.Z; z++)
            {
                bool zFace = ZFaces && (cz + z == 0 || cz + z == volume.Z - 1);
                for (int y = 0; y < s.Y; y++)
                {
                    bool yFace = cy + y == 0 || cy + y == volume.Y - 1;
                    var row = labels.Row(z, y);
                    if (zFace || yFace)
                    {
                        foreach (int label in row)
                        {
                            Mark(label, first);
                        }
                    }
                    else
                    {
                        if (cx == 0)
                        {
                            Mark(row[0], first);
                        }

                        if (cx + s.X == volume.X)
                        {
                            Mark(row[^1], first);
                        }
                    }
                }
            }
        }

        private void MarkAnchors(Volume<int> labels, Volume<byte> anchors, int first)
        {
            var l = labels.Span;
            var a = anchors.Span;
            for (int i = 0; i < l.Length; i++)
            {
                if (a[i] == NonBrainHysteresis.AnchorCode)
                {
                    Mark(l[i], first);
                }
            }
        }

        private void Mark(int label, int first)
        {
            if (label != 0)
            {
                border[first + label - 1] = true;
            }
        }

        private int Find(int i)
        {
            while (parent[i] != i)
            {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }

            return i;
        }

        private void Union(int a, int b)
        {
            int ra = Find(a), rb = Find(b);
            if (ra == rb)
            {
                return;
            }

            if (ra > rb)
            {
                (ra, rb) = (rb, ra);
            }

            parent[rb] = ra;
            size[ra] += size[rb];
            marked[ra] += marked[rb];
            resinLike[ra] += resinLike[rb];
            border[ra] |= border[rb];
        }
    }
}

/// <summary>
/// What the global hole filling counts as a hole: background touching no face of the volume (<paramref name="ZFaces"/>:
/// the z faces count as faces) that holds fewer than <paramref name="ResinHole"/> voxels coded
/// <see cref="ClassicalMasker.ResinCode"/> (0: any number).
/// </summary>
/// <param name="ZFaces">Whether the z faces are faces (false for a volume of one section, filled as a section).</param>
/// <param name="ResinHole">Resin-marked voxels from which a hole stays open; 0: every hole is filled.</param>
/// <param name="Unmarked">Voxels at the resin's intensity or padding from which background on the border stays open
/// (a section whose resin is known fills its pale border regions: <see cref="Morphology.MaskMorphology.FillUnmarked"/>);
/// 0: the border keeps all background open.</param>
public readonly record struct HoleRule(bool ZFaces, long ResinHole, long Unmarked = 0)
{
    /// <summary>A volume's holes: every face counts, every hole is filled (scipy's binary_fill_holes).</summary>
    public static HoleRule Volume => new(true, 0);
}
