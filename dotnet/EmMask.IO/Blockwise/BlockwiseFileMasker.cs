using System.Globalization;
using EmMask.Core.Blockwise;
using EmMask.Core.Masking;
using EmMask.Core.PostProcessing;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.IO.Blockwise;

/// <summary>What a block-wise run of a file is asked to do.</summary>
/// <param name="Input">The input volume (HDF5 or npy are read block by block).</param>
/// <param name="Output">The output mask: one HDF5, TIFF, npy or MRC file (<see cref="BlockwiseFileMasker.CheckOutputs"/>).</param>
/// <param name="Options">The classical masker's options.</param>
/// <param name="PostProcess">Post-processing (per-slice steps, fill and largest only; see <see cref="BlockPostProcessing"/>).</param>
/// <param name="BlockEdge">Core edge in voxels, or null to choose it from <paramref name="MaxMemory"/>.</param>
/// <param name="MaxMemory">Working-memory budget in bytes.</param>
/// <param name="Resume">Continue an unfinished run of the same job.</param>
/// <param name="Write">How the output is written (force, attributes).</param>
/// <param name="Multiscale">Coarser levels written beside the mask (<see cref="MultiscaleLevels"/>; HDF5 only).</param>
/// <param name="Confidence">Where the confidence map goes (<see cref="BlockwiseConfidence"/>): an HDF5 dataset, a TIFF or an npy file, or null.</param>
public sealed record BlockwiseJob(
    VolumePath Input,
    VolumePath Output,
    ClassicalMaskOptions Options,
    PostProcessPipeline PostProcess,
    int? BlockEdge,
    long MaxMemory,
    bool Resume,
    VolumeWriteOptions Write,
    int Multiscale = 0,
    VolumePath? Confidence = null);

/// <summary>What a block-wise run did.</summary>
public sealed record BlockwiseOutcome(Shape3 Shape, long TissueVoxels, double Threshold, int Blocks, int Resumed, Shape3 BlockSize, int Halo, IReadOnlyList<string> Warnings, IReadOnlyList<string> Notes);

/// <summary>
/// Masks a volume file block by block into an HDF5, TIFF, npy or MRC output: the plan is measured on a sample, finished
/// blocks go to a store beside the output (<see cref="DirectoryBlockStore"/>) so that <c>--resume</c> continues a killed
/// run, the global steps and post-processing run over the stored blocks, and the output is streamed row by row and
/// renamed into place at the end (<see cref="VolumeWriter.WriteRows"/>). Memory: one block's read region, one layer of
/// sections of the output, and the union-find; with a confidence map, each block's confidence is kept in the store too
/// and streamed into its own dataset or file in the same atomic write (two layers of sections of float32 more).
/// </summary>
public static class BlockwiseFileMasker
{
    /// <summary>Runs the job.</summary>
    /// <exception cref="ArgumentException">A request that cannot run block-wise (named).</exception>
    /// <exception cref="VolumeFormatException">An input or store that cannot be read, or an unfinished run of another job with --resume.</exception>
    public static BlockwiseOutcome Run(BlockwiseJob job, IProgress<ProgressReport>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        CheckOutputs(job.Output, job.Confidence, job.Multiscale);
        var options = job.Options.Validate();
        BlockPostProcessing.Check(job.PostProcess);
        var source = new FileBlockSource(job.Input, ct);
        progress?.Report(new("measure the plan on a sample", 0));
        bool withConfidence = job.Confidence is not null;
        // A stack whose sections do not fit one by one measures a plan per section, not one for the stack.
        if (job.BlockEdge is null && TiledSectionStack.Applies(source.Shape, source.VoxelSize, options, job.MaxMemory, withConfidence))
        {
            return TiledSectionStack.Run(job, source, options, progress, ct);
        }

        var plan = job.BlockEdge is null ? ClassicalBlockwise.Plan(source, options, job.MaxMemory, withConfidence, ct) : ClassicalBlockwise.Plan(source, options, ct);

        int edge = job.BlockEdge ?? ClassicalBlockwise.BlockEdgeFor(job.MaxMemory, source.Shape, plan, options, withConfidence)
            ?? throw new ArgumentException(source.Shape.Z == 1 && plan.Mode == MaskingMode.TwoD
                ? TiledSectionStack.TooLittleMemory(job.MaxMemory, source, options, withConfidence, ct) // not even a tile fits
                : TooLittleMemory(job.MaxMemory, source.Shape, plan, options, withConfidence));
        var grid = ClassicalBlockwise.Grid(source.Shape, plan, options, edge);
        string method = $"method: classical\nparameters: {options.ToJson()}\nblocks: {grid.BlockSize}, halo {grid.Halo}\nplan: {plan.Describe()}";
        var (mask, notes) = Finish(job.Input, job.Output, job.PostProcess, job.Resume, job.Write, job.Multiscale, source, method,
            (store, confidence, scaled) => ClassicalBlockwise.Run(source, store, grid, plan, options, confidence, scaled, ct), progress, ct, job.Confidence);
        if (plan.Mode == MaskingMode.ThreeD && source.Shape.Z == 1 && options.Mode != MaskingMode.ThreeD)
        {
            notes = [ClassicalBlockwise.TiledSectionNote(source.Shape), .. notes];
        }

        return new BlockwiseOutcome(source.Shape, mask.TissueVoxels, plan.Threshold ?? ClassicalMasker.UnimodalThreshold, grid.Count, mask.Resumed, grid.BlockSize, grid.Halo, mask.Warnings, notes);
    }

    /// <summary>
    /// What every block-wise run of a file does around its method: the store beside the output (checked against the
    /// manifest for <c>--resume</c>), the method's blocks (<paramref name="run"/>, 80 % of the progress), post-processing
    /// over the blocks, the streamed output (and its coarser levels, and the confidence map), and the store's removal.
    /// </summary>
    /// <param name="input">The input volume.</param>
    /// <param name="output">The output: an HDF5 dataset, a TIFF or an npy file.</param>
    /// <param name="postProcess">Post-processing (block-wise steps only).</param>
    /// <param name="resume">Continue an unfinished run of the same job.</param>
    /// <param name="write">How the output is written.</param>
    /// <param name="multiscale">Coarser levels written beside the mask.</param>
    /// <param name="source">The input, read block by block.</param>
    /// <param name="method">The method's lines of the manifest (method, parameters, grid, measured values).</param>
    /// <param name="run">Masks the blocks into the store, handing each block's core confidence to its second argument
    /// (null when no confidence map is written).</param>
    /// <param name="progress">Stage and fraction.</param>
    /// <param name="ct">Cancels the work; finished blocks stay for --resume.</param>
    /// <param name="confidence">Where the confidence map goes (an HDF5 dataset, a TIFF or an npy file; <see cref="BlockwiseConfidence"/>), or null. Each
    /// block's confidence is kept in the store beside its mask, so --resume gives the uninterrupted run's map.</param>
    public static (BlockwiseMask Mask, IReadOnlyList<string> Notes) Finish(
        VolumePath input, VolumePath output, PostProcessPipeline postProcess, bool resume, VolumeWriteOptions write, int multiscale,
        FileBlockSource source, string method, Func<IBlockStore, Action<BlockRegion, Volume<float>>?, IProgress<ProgressReport>?, BlockwiseMask> run,
        IProgress<ProgressReport>? progress, CancellationToken ct, VolumePath? confidence = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(postProcess);
        ArgumentNullException.ThrowIfNull(write);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(run);
        CheckOutputs(output, confidence, multiscale);
        BlockPostProcessing.Check(postProcess);
        string manifest = Manifest(input, source, method, postProcess);
        var store = DirectoryBlockStore.Open(DirectoryBlockStore.PathFor(output.File), manifest, resume, out string? note);
        var scaled = ProgressRange.Of(progress, 0, 0.8);
        var masked = confidence is null
            ? run(store, null, scaled)
            : run(BlockwiseConfidence.Keeping(store, store), (block, core) => store.WriteConfidence(block, core, ct), scaled);
        var mask = masked.PostProcess(postProcess, step => DirectoryBlockStore.Open(Path.Combine(store.Directory, $"post{step}"), manifest, resume: false, out _),
            ProgressRange.Of(progress, 0.8, 0.1), ct);
        progress?.Report(new("write", 0.9));

        // The confidence agrees with the method's mask before post-processing, as in memory.
        VolumeWriter.WriteRows(output, mask, write, ct, MultiscaleLevels.Of(multiscale, mask.Coarser, write.Attributes),
            confidence is null ? null : (confidence, new BlockwiseConfidence(masked, store, ct)));
        store.Delete();
        var notes = new List<string>();
        if (note is not null)
        {
            notes.Add(note);
        }

        notes.AddRange(mask.Notes);
        progress?.Report(new("done", 1));
        return (mask, notes);
    }

    /// <summary>
    /// Checks, before anything is read or written, that a block-wise run can write its outputs: the mask, and the
    /// confidence map when asked for, each go to one HDF5, TIFF, npy or MRC file, streamed row by row
    /// (<see cref="VolumeWriter.CanWriteRows"/>); coarser levels need an HDF5 mask (<see cref="MultiscaleLevels.CheckOutput"/>);
    /// the confidence map is neither the mask nor one of its coarser levels. It may be another dataset of the mask's
    /// HDF5 file.
    /// </summary>
    /// <exception cref="ArgumentException">An output that a block-wise run cannot write (named, with what to give instead).</exception>
    public static void CheckOutputs(VolumePath output, VolumePath? confidence, int multiscale = 0)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!VolumeWriter.CanWriteRows(output.Kind))
        {
            throw new ArgumentException(
                $"{output}: block-wise runs write the mask into one HDF5, TIFF, npy or MRC file or a Zarr array (out.h5:/mask, out.tif, out.npy, out.mrc, out.zarr), not into a PNG image or one file per section. " +
                Instead);
        }

        MultiscaleLevels.CheckOutput(output, multiscale);
        if (confidence is null)
        {
            return;
        }

        if (!VolumeWriter.CanWriteRows(confidence.Kind))
        {
            throw new ArgumentException(
                $"--confidence {confidence}: block-wise runs write the confidence map into one HDF5, TIFF, npy or MRC file or a Zarr array (conf.h5:/confidence, out.h5:/confidence beside the mask, conf.tif, conf.npy, conf.mrc, conf.zarr), not one file per section. " +
                Instead);
        }

        if (output.Kind != VolumeFileKind.Hdf5 && confidence.SameVolumeAs(output))
        {
            throw new ArgumentException($"--confidence {confidence} is the mask's output: give the confidence its own file or dataset.");
        }

        var maskAndLevels = Enumerable.Range(0, Math.Max(0, multiscale) + 1)
            .Select(k => k == 0 ? output : output with { Dataset = output.Dataset + MultiscaleLevels.Suffix(k) });
        if (maskAndLevels.Any(confidence.SameVolumeAs))
        {
            throw new ArgumentException($"--confidence {confidence} is the mask's output or one of its coarser levels: give the confidence its own file or dataset.");
        }
    }

    // What to do instead of writing one image per section block-wise.
    private const string Instead = "Write one of those and convert it afterwards, or mask in memory (without --block or --resume, with a --max-memory the volume fits in).";

    // The error for a budget under which no block fits, with the least budget that works (or a coarser level, or 3D mode).
    private static string TooLittleMemory(long maxMemory, Shape3 shape, ClassicalPlan plan, ClassicalMaskOptions options, bool confidence)
    {
        string least = Format(MinimumMemory(shape, plan, options, confidence));
        return plan.Level is null
            ? $"--max-memory {Format(maxMemory)} is too small for this volume: in 2D mode a block holds whole sections, and one section of {shape.Y}x{shape.X} needs " +
              $"{least}; give at least that, or --mode 3d to mask the stack as a volume in smaller blocks."
            : $"--max-memory {Format(maxMemory)} is too small for this volume: a block needs its halo of {ClassicalMasker.Halo(plan, options)} voxels " +
              $"(working level {plan.Level}); give at least {least}, or a coarser --level.";
    }

    /// <summary>
    /// The least memory budget under which a block-wise run of this plan finds a block (<see cref="ClassicalBlockwise.BlockEdgeFor"/>):
    /// one block as large as its halo, or in 2D mode one whole section, with the layers the writer holds.
    /// </summary>
    public static long MinimumMemory(Shape3 shape, ClassicalPlan plan, ClassicalMaskOptions options, bool confidence = false)
    {
        ArgumentNullException.ThrowIfNull(plan);
        long low = 0, high = 1L << 50; // BlockEdgeFor finds none under low and one under high
        while (high - low > 1)
        {
            long middle = low + ((high - low) / 2);
            (ClassicalBlockwise.BlockEdgeFor(middle, shape, plan, options, confidence) is null ? ref low : ref high) = middle;
        }

        return high;
    }

    /// <summary>A memory size as --max-memory takes it (e.g. <c>1.26G</c>, <c>300M</c>), rounded up, so that a minimum given back suffices.</summary>
    public static string Format(long bytes) => bytes >= 1L << 30
        ? string.Create(CultureInfo.InvariantCulture, $"{Math.Ceiling(bytes * 100.0 / (1L << 30)) / 100:0.##}G")
        : string.Create(CultureInfo.InvariantCulture, $"{Math.Ceiling(bytes / (double)(1L << 20)):0}M");

    // One fact per line; a resumed run must agree on every one.
    internal static string Manifest(VolumePath input, FileBlockSource source, string method, PostProcessPipeline postProcess)
    {
        // A sequence of section files or a chunked array's files: their count, total size and newest change.
        var files = input.Kind switch
        {
            VolumeFileKind.Sequence => VolumeReader.SequenceFiles(input).Select(f => new FileInfo(f)).ToList(),
            VolumeFileKind.Zarr or VolumeFileKind.N5 => new DirectoryInfo(input.File).EnumerateFiles("*", SearchOption.AllDirectories).ToList(),
            _ => [new FileInfo(input.File)],
        };
        var c = CultureInfo.InvariantCulture;
        string described = files.Count == 1
            ? string.Create(c, $"input file: {files[0].Length} bytes, modified {files[0].LastWriteTimeUtc:O}")
            : string.Create(c, $"input files: {files.Count}, {files.Sum(f => f.Length)} bytes, newest modified {files.Max(f => f.LastWriteTimeUtc):O}");
        return string.Join('\n',
            $"input: {Path.GetFullPath(input.File)}:{input.Dataset}",
            described,
            $"shape: {source.Shape}",
            method,
            $"postprocess: {postProcess.ToSpec()}",
            string.Empty);
    }
}
