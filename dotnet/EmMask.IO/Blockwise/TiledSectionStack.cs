using System.Globalization;
using EmMask.Core.Blockwise;
using EmMask.Core.Masking;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;
using EmMask.IO.Formats;

namespace EmMask.IO.Blockwise;

/// <summary>
/// A stack masked in 2D mode whose sections do not fit the memory budget one by one (in 2D mode a block holds whole
/// sections): each section is masked as a volume of one section, tiled in-plane as one large section is
/// (<see cref="ClassicalBlockwise.Plan(IBlockSource, ClassicalMaskOptions, long, bool, CancellationToken)"/> on a
/// <see cref="SectionSource"/>), with its own plan and its own store under the job's, and post-processed on its own
/// (per-section steps only); then all sections are streamed into the output in one atomic write
/// (<see cref="SectionRows{T}"/>). Each section is masked as it would be alone; what a stack's sections share in memory
/// (their consensus, one intensity normalisation) is left out, as is the step a tiled section leaves out
/// (<see cref="ClassicalBlockwise.TiledSectionNote"/>). Memory: one section's tiled run, or in the write the sections
/// the writer may come back to (<see cref="VolumeWriter.RowReach"/>).
/// </summary>
internal static class TiledSectionStack
{
    /// <summary>Whether a run of this stack under <paramref name="maxMemory"/> is masked section by section in tiles.</summary>
    public static bool Applies(Shape3 shape, VoxelSize voxelSize, ClassicalMaskOptions options, long maxMemory, bool confidence) =>
        shape.Z > 1 && MaskingModes.Resolve(options.Mode, shape, voxelSize) == MaskingMode.TwoD && !ClassicalBlockwise.SectionFits(maxMemory, shape, confidence);

    /// <summary>Runs the job section by section (<see cref="Applies"/>).</summary>
    /// <exception cref="ArgumentException">A post-processing step across sections, or a budget under which no tile, or not
    /// the sections the writer holds, fits (named, with the budget that does).</exception>
    public static BlockwiseOutcome Run(BlockwiseJob job, FileBlockSource source, ClassicalMaskOptions options, IProgress<ProgressReport>? progress, CancellationToken ct)
    {
        var shape = source.Shape;
        bool withConfidence = job.Confidence is not null;
        BlockPostProcessing.CheckPerSlice(job.PostProcess, shape, source.VoxelSize);
        CheckWriteMemory(job, shape);

        // Every section's plan and grid first, so that a budget no tile fits is refused before anything is written.
        var planned = new List<(SectionSource Source, ClassicalPlan Plan, BlockGrid Grid)>(shape.Z);
        for (int z = 0; z < shape.Z; z++)
        {
            ct.ThrowIfCancellationRequested();
            progress?.Report(new($"section {z + 1}/{shape.Z}: measure the plan", 0.1 * z / shape.Z));
            var section = new SectionSource(source, z);
            var plan = ClassicalBlockwise.Plan(section, options, job.MaxMemory, withConfidence, ct);
            int edge = ClassicalBlockwise.BlockEdgeFor(job.MaxMemory, section.Shape, plan, options, withConfidence)
                ?? throw new ArgumentException(TooLittleMemory(job.MaxMemory, section, options, withConfidence, ct));
            planned.Add((section, plan, ClassicalBlockwise.Grid(section.Shape, plan, options, edge)));
        }

        string method = $"method: classical\nparameters: {options.ToJson()}\nsections: masked one by one, each tiled in-plane";
        var store = DirectoryBlockStore.Open(DirectoryBlockStore.PathFor(job.Output.File), BlockwiseFileMasker.Manifest(job.Input, source, method, job.PostProcess), job.Resume, out string? note);
        var sections = new List<Section>(shape.Z);
        for (int z = 0; z < shape.Z; z++)
        {
            ct.ThrowIfCancellationRequested();
            var scaled = ProgressRange.Of(progress, 0.1 + (0.8 * z / shape.Z), 0.8 / shape.Z, $"section {z + 1}/{shape.Z}: ");
            var (section, plan, grid) = planned[z];
            sections.Add(Mask(job, section, z, plan, grid, store.Directory, options, withConfidence, scaled, ct));
        }

        progress?.Report(new("write", 0.9));
        var vs = source.VoxelSize;
        var mask = new CountedRows(new SectionRows<byte>(shape, vs, z => sections[z].Pass(), VolumeWriter.RowReach(job.Output, job.Write)));
        IRowSource<byte> Coarser(int factor) =>
            new MaxPooledRows(new SectionRows<byte>(shape, vs, z => sections[z].Pass(), LevelReach(factor)), factor);
        (VolumePath, IRowSource<float>)? confidence = job.Confidence is { } c
            ? (c, new SectionRows<float>(shape, vs, z => new BlockwiseConfidence(sections[z].Masked, sections[z].Store, ct), VolumeWriter.RowReach(c, job.Write)))
            : null;
        VolumeWriter.WriteRows(job.Output, mask, job.Write, ct, MultiscaleLevels.Of(job.Multiscale, Coarser, job.Write.Attributes), confidence);
        store.Delete();
        progress?.Report(new("done", 1));

        // The store's own note counts the blocks in its top folder; a stack's are in its sections' folders.
        int resumed = sections.Sum(s => s.Masked.Resumed);
        var notes = new List<string>();
        if (job.Resume && resumed > 0)
        {
            notes.Add($"resuming: {resumed} finished blocks kept from the earlier run");
        }
        else if (note is not null)
        {
            notes.Add(note);
        }

        var first = sections[0];
        var thresholds = sections.Select(s => s.Plan.Threshold ?? ClassicalMasker.UnimodalThreshold).ToList();
        string measured = string.Create(CultureInfo.InvariantCulture,
            $"its own plan: thresholds {thresholds.Min():g3}..{thresholds.Max():g3}; {sections.Sum(s => s.Masked.Grid.Count)} blocks of {first.Masked.Grid.BlockSize} with a halo of {first.Masked.Grid.Halo}");
        notes.Add($"the stack's sections ({shape.Y}x{shape.X}) do not fit the memory budget one by one, so each was masked on its own in tiles as a volume of one section ({measured}); " +
            "left out: what the sections of a stack share in memory (their consensus and one intensity normalisation), and stained regions joining the mask");
        var warnings = sections.SelectMany(s => s.Post.Warnings).Distinct().ToList();
        return new BlockwiseOutcome(shape, mask.Tissue, thresholds[0], sections.Sum(s => s.Masked.Grid.Count), resumed,
            first.Masked.Grid.BlockSize, first.Masked.Grid.Halo, warnings, notes);
    }

    // One section, under its plan: its blocks in its own store, post-processed.
    private static Section Mask(BlockwiseJob job, SectionSource section, int z, ClassicalPlan plan, BlockGrid grid, string directory, ClassicalMaskOptions options, bool withConfidence, IProgress<ProgressReport>? progress, CancellationToken ct)
    {
        string manifest = string.Create(CultureInfo.InvariantCulture, $"section: {z}\nblocks: {grid.BlockSize}, halo {grid.Halo}\nplan: {plan.Describe()}\n");
        var store = DirectoryBlockStore.Open(Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"section{z:D6}")), manifest, job.Resume, out _);
        var masked = withConfidence
            ? ClassicalBlockwise.Run(section, BlockwiseConfidence.Keeping(store, store), grid, plan, options, (block, core) => store.WriteConfidence(block, core, ct), progress, ct)
            : ClassicalBlockwise.Run(section, store, grid, plan, options, null, progress, ct);
        var post = masked.PostProcess(job.PostProcess, step => DirectoryBlockStore.Open(Path.Combine(store.Directory, $"post{step}"), manifest, resume: false, out _), null, ct);
        return new Section(plan, masked, post, store);
    }

    /// <summary>
    /// The error for a budget under which no tile of a section fits (a section of a stack, or a volume of one section):
    /// the least budget under which one does.
    /// </summary>
    public static string TooLittleMemory(long maxMemory, IBlockSource section, ClassicalMaskOptions options, bool confidence, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(section);
        var tiled = ClassicalBlockwise.Plan(section, options with { Mode = MaskingMode.ThreeD }, ct, ClassicalBlockwise.SampleFor(maxMemory));
        var shape = new Shape3(1, section.Shape.Y, section.Shape.X);
        string least = BlockwiseFileMasker.Format(BlockwiseFileMasker.MinimumMemory(shape, tiled, options, confidence));
        string what = section.Shape.Z == 1 && section is not SectionSource
            ? $"this section: it is masked in tiles ({shape.Y}x{shape.X} does not fit whole)"
            : $"this stack: its sections of {shape.Y}x{shape.X} are masked one by one in tiles";
        return $"--max-memory {BlockwiseFileMasker.Format(maxMemory)} is too small for {what}, " +
               $"and a tile with its halo of {ClassicalMasker.Halo(tiled, options)} voxels needs {least}; give at least that.";
    }

    // The write holds the sections its writers may come back to: one byte per voxel for the mask and its levels, four
    // for the confidence map.
    private static void CheckWriteMemory(BlockwiseJob job, Shape3 shape)
    {
        var held = new List<(string What, int Sections, int Bytes)> { ("the mask", VolumeWriter.RowReach(job.Output, job.Write) + 1, 1) };
        for (int k = 1; k <= job.Multiscale; k++)
        {
            held.Add(($"the mask's level {k}", LevelReach(1 << k) + 1, 1));
        }

        if (job.Confidence is { } c)
        {
            held.Add(("the confidence map", VolumeWriter.RowReach(c, job.Write) + 1, sizeof(float)));
        }

        var (what, sections, bytes) = held.MaxBy(h => (long)Math.Min(h.Sections, shape.Z) * h.Bytes);
        sections = Math.Min(sections, shape.Z);
        long need = (long)sections * bytes * shape.SliceLength;
        if (need > job.MaxMemory)
        {
            throw new ArgumentException(
                $"--max-memory {BlockwiseFileMasker.Format(job.MaxMemory)} is too small to write this stack: its sections of {shape.Y}x{shape.X} are masked one by one, " +
                $"and writing {what} holds {sections} of them at once ({BlockwiseFileMasker.Format(need)}; a compressed HDF5 dataset is written {Hdf5Writer.ChunkDepth} sections deep, " +
                $"a TIFF or npy file one section at a time); give at least {BlockwiseFileMasker.Format(need)}, or write a TIFF or npy file.");
        }
    }

    // How far back a coarser level's writer asks for full-resolution sections: one coarse chunk deep, and one more.
    private static int LevelReach(int factor) => (Hdf5Writer.ChunkDepth + 1) * factor;

    private sealed record Section(ClassicalPlan Plan, BlockwiseMask Masked, BlockwiseMask Post, DirectoryBlockStore Store)
    {
        // A fresh pass over the final mask (each pass holds one section's layer).
        public IRowSource<byte> Pass() => BlockwiseMask.FromBlocks(Post.Grid, Post.Final, Post.VoxelSize, Post.Warnings, Post.Notes, Post.Resumed);
    }

    // The tissue voxels of the rows handed out (each row once per pass).
    private sealed class CountedRows(IRowSource<byte> rows) : IRowSource<byte>
    {
        public long Tissue { get; private set; }

        public Shape3 Shape => rows.Shape;

        public VoxelSize VoxelSize => rows.VoxelSize;

        public void CopyRow(int z, int y, Span<byte> destination)
        {
            rows.CopyRow(z, y, destination);
            Tissue += destination.Count((byte)1);
        }
    }
}
