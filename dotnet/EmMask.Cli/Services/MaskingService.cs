using System.Diagnostics;
using System.Text.Json;
using EmMask.Cli.Console;
using EmMask.Core.Blockwise;
using EmMask.Core.Inference;
using EmMask.Core.Masking;
using EmMask.Core.Progress;
using EmMask.Learning.Inference;
using EmMask.Core.PostProcessing;
using EmMask.Core.Volumes;
using EmMask.IO;

namespace EmMask.Cli.Services;

/// <summary>What <c>emmask mask</c> was asked to do.</summary>
public sealed record MaskRequest(
    VolumePath Input,
    VolumePath Output,
    VolumePath? ConfidenceOutput,
    string Method,
    ClassicalMaskOptions Classical,
    UNetMaskOptions UNet,
    PostProcessPipeline PostProcess,
    bool Force,
    BlockRequest? Blocks = null,
    int Multiscale = 0,
    IReadOnlyList<int>? Sections = null);

/// <summary>The block-wise options of <c>emmask mask</c>.</summary>
/// <param name="Block">Core edge in voxels (asks for block-wise processing), or null.</param>
/// <param name="MaxMemory">Working-memory budget in bytes, or null for the default (¾ of available memory).</param>
/// <param name="Resume">Continue an unfinished block-wise run (asks for block-wise processing).</param>
/// <param name="Threads">Filter threads, or null for one per core.</param>
public sealed record BlockRequest(int? Block, long? MaxMemory, bool Resume, int? Threads)
{
    /// <summary>The budget in bytes.</summary>
    public long Budget => MaxMemory ?? ByteSize.DefaultBudget();

    /// <summary>
    /// True when the run must go block by block: asked for (--block or --resume), or the in-memory run would exceed the
    /// budget (the classical masker: <see cref="ClassicalBlockwise.InMemoryBytes"/> in <paramref name="mode"/>; the
    /// U-Net: <see cref="UNetMemory.InMemoryBytes"/> under <paramref name="stack"/>, which needs <paramref name="voxel"/>).
    /// </summary>
    public bool Wanted(Shape3 shape, string method, MaskingMode mode, VoxelSize voxel, StackMode stack = StackMode.Auto) =>
        Block is not null || Resume || (method == "unet" ? UNetMemory.InMemoryBytes(shape, voxel, stack) : ClassicalBlockwise.InMemoryBytes(shape, mode)) > Budget;
}

/// <summary>Summary of a finished mask run (also the --json output).</summary>
/// <remarks>
/// <c>Stages</c> holds seconds per stage inside the compute: for the U-Net device_startup (libtorch, the CUDA context),
/// model_load, envelope (these three overlap: start-up and load run beside the envelope), network (sliding window and
/// blend) and postprocess; for the classical masker mask and postprocess. <c>UnsplitSections</c> (classical in memory,
/// 2D mode) lists the sections whose texture did not split into tissue and resin
/// (<see cref="MaskResult.UnsplitSections"/>); null otherwise. <c>Sections</c> lists the input's sections masked by
/// <c>--sections</c> (<see cref="SectionMasking"/>); null when the whole volume was.
/// </remarks>
public sealed record MaskOutcome(string Input, string Output, string Method, int[] Shape, double TissueFraction, double Threshold, double ReadSeconds, double ComputeSeconds, double WriteSeconds, IReadOnlyList<string> Warnings, IReadOnlyList<string> Notes, IReadOnlyDictionary<string, double> Stages, IReadOnlyList<int>? UnsplitSections = null, IReadOnlyList<int>? Sections = null);

/// <summary>Reads, masks, post-processes and writes atomically; the mask command only parses and calls this.</summary>
/// <param name="reporter">Progress, info, warnings.</param>
/// <param name="shared">A model cache kept across runs (a batch loads a model once), or null for one per run.</param>
public sealed class MaskingService(IReporter reporter, PredictorProvider? shared = null)
{
    /// <summary>The model cache a run uses: the shared one, else a fresh one that the caller disposes (<c>Owned</c>).</summary>
    internal (PredictorProvider Provider, IDisposable? Owned) Predictors()
    {
        if (shared is not null)
        {
            return (shared, null);
        }

        var fresh = new PredictorProvider();
        return (fresh, fresh);
    }

    /// <summary>Runs the request; nothing is written unless every step succeeded.</summary>
    public MaskOutcome Run(MaskRequest request, CancellationToken ct)
    {
        using var threads = request.Blocks?.Threads is { } n ? EmMask.Core.Filters.ComputeThreads.Limit(n) : null;
        request.Classical.Validate();
        OutputGuard.CheckNotInput(request.Output, request.Input);
        if (request.ConfidenceOutput is { } confidenceOutput)
        {
            OutputGuard.CheckNotInput(confidenceOutput, request.Input, "the confidence");
            if (confidenceOutput.SameVolumeAs(request.Output))
            {
                throw new ArgumentException($"--confidence {confidenceOutput} is the mask's output: give the confidence its own file or dataset.");
            }
        }

        MultiscaleLevels.CheckOutput(request.Output, request.Multiscale);

        if (request.Sections is { } sections)
        {
            return new SectionMasking(reporter, this).Run(request, sections, ct);
        }

        OutputGuard.CheckCanHold(request.Output, request.Input);
        if (request.ConfidenceOutput is { } confidenceTarget)
        {
            OutputGuard.CheckCanHold(confidenceTarget, request.Input, floats: true);
        }

        if (request.Blocks is { } blocks && Blockwise(blocks, request))
        {
            return RunBlockwise(request, blocks, ct);
        }

        OutputGuard.Check(request.Output, request.Force);
        if (request.ConfidenceOutput is { } confidencePath)
        {
            OutputGuard.Check(confidencePath, request.Force);
        }

        var clock = Stopwatch.StartNew();
        _ = CompilationWarmUp.Start(request); // runs beside the read and, if still busy, the first part of the compute
        var input = VolumeReader.Read(request.Input, ct);
        int rank = VolumeReader.ReadRank(request.Input); // the mask keeps the input's shape: (1, H, W) stays (1, H, W)
        long[] stored = VolumeReader.ReadStoredDimensions(request.Input); // and (1, Z, Y, X) stays (1, Z, Y, X)
        string? colour = null;
        if (ColorImage.Looks(input.Shape, rank))
        {
            colour = $"{request.Input} looks like a colour image ({input.Shape.Z}, {input.Shape.Y}, {input.Shape.X} channels): masked its luminance; the mask is ({input.Shape.Z}, {input.Shape.Y}).";
            input = ColorImage.Luminance(input);
            rank = 2;
        }
        else if (VolumeReader.ReadColourStack(request.Input))
        {
            colour = ColorImage.StackWarning(request.Input.ToString(), input.Shape);
        }

        double read = clock.Elapsed.TotalSeconds;

        clock.Restart();
        var stages = new Dictionary<string, double>();
        MaskResult result;
        var (predictors, owned) = Predictors();
        using (owned)
        {
            result = Mask(input, request, $"{request.Method} mask {input.Shape}", predictors, stages, ct);
        }

        if (request.Method == "classical")
        {
            stages["mask"] = clock.Elapsed.TotalSeconds;
        }

        if (colour is not null)
        {
            result = result with { Warnings = [colour, .. result.Warnings] };
        }

        foreach (var warning in result.Warnings)
        {
            reporter.Warn(warning);
        }

        foreach (var note in result.Notes ?? [])
        {
            reporter.Info(note);
        }

        double masked = clock.Elapsed.TotalSeconds;
        if (request.PostProcess.Operations.Count > 0)
        {
            reporter.Run("post-process", progress =>
            {
                request.PostProcess.Apply(result.Mask, progress, ct);
                return 0;
            });
        }

        double compute = clock.Elapsed.TotalSeconds;
        stages["postprocess"] = compute - masked;
        clock.Restart();
        var attributes = Attributes(request, result);
        ct.ThrowIfCancellationRequested();
        var writeOptions = new VolumeWriteOptions { Force = request.Force, Attributes = attributes, SingleSliceRank = rank, StoredDimensions = stored };
        if (request.Multiscale > 0)
        {
            var rows = new VolumeRows(result.Mask);
            VolumeWriter.WriteRows(request.Output, rows, writeOptions, ct, MultiscaleLevels.Of(request.Multiscale, f => new MaxPooledRows(rows, f), attributes));
        }
        else
        {
            VolumeWriter.Write(request.Output, result.Mask, writeOptions, ct);
            if (OutputGuard.LeftoverWarning(request.Output, result.Mask.Shape.Z) is { } leftover)
            {
                reporter.Warn(leftover);
            }
        }
        if (request.ConfidenceOutput is { } c)
        {
            VolumeWriter.Write(c, result.Confidence, new VolumeWriteOptions { Force = request.Force, Attributes = attributes, SingleSliceRank = rank, StoredDimensions = stored }, ct);
            if (OutputGuard.LeftoverWarning(c, result.Confidence.Shape.Z) is { } leftover)
            {
                reporter.Warn(leftover);
            }
        }

        double write = clock.Elapsed.TotalSeconds;
        long tissue = 0;
        foreach (byte b in result.Mask.Span)
        {
            tissue += b;
        }

        var s = result.Mask.Shape;
        return new MaskOutcome(
            request.Input.ToString(), request.Output.ToString(), request.Method, [s.Z, s.Y, s.X],
            s.Length == 0 ? 0 : (double)tissue / s.Length, result.Threshold, read, compute, write, result.Warnings, result.Notes ?? [], stages,
            result.UnsplitSections);
    }

    // Block by block: the plan, resumable store, global steps and streamed output (and confidence map) live in
    // BlockwiseFileMasker. Outputs it cannot write, and existing ones without --force, are refused before any compute.
    // Whether the run goes block by block (BlockRequest.Wanted), for the mode it would mask in: the voxel size is read
    // only where it decides the mode (auto, on a stack of at least MinimumSections3D sections; the U-Net's stack mode).
    private static bool Blockwise(BlockRequest blocks, MaskRequest request)
    {
        var shape = VolumeReader.ReadShape(request.Input);
        var mode = request.Classical.Mode;
        // The U-Net's stack mode decides its need only where the larger of the two could exceed the budget.
        bool unetNeedsIt = request.Method == "unet" && Math.Max(
            UNetMemory.InMemoryBytes(shape, VoxelSize.Isotropic, StackMode.Sections),
            UNetMemory.InMemoryBytes(shape, VoxelSize.Isotropic, StackMode.Volume)) > blocks.Budget;
        var voxelSize = unetNeedsIt || (mode == MaskingMode.Auto && shape.Z >= MaskingModes.MinimumSections3D)
            ? VolumeReader.ReadBlock(request.Input, (0, 0, 0), new Shape3(1, 1, 1)).VoxelSize
            : VoxelSize.Isotropic;
        return blocks.Wanted(shape, request.Method, MaskingModes.Resolve(mode, shape, voxelSize), voxelSize, request.UNet.Stack);
    }

    private MaskOutcome RunBlockwise(MaskRequest request, BlockRequest blocks, CancellationToken ct)
    {
        EmMask.IO.Blockwise.BlockwiseFileMasker.CheckOutputs(request.Output, request.ConfidenceOutput, request.Multiscale);
        OutputGuard.Check(request.Output, request.Force);
        if (request.ConfidenceOutput is { } confidence)
        {
            OutputGuard.Check(confidence, request.Force);
        }

        if (VolumeReader.ReadColourStack(request.Input))
        {
            string colour = ColorImage.StackWarning(request.Input.ToString(), VolumeReader.ReadShape(request.Input));
            reporter.Warn(colour);
            var outcome = RunBlockwiseMethod(request, blocks, ct);
            return outcome with { Warnings = [colour, .. outcome.Warnings] };
        }

        return RunBlockwiseMethod(request, blocks, ct);
    }

    private MaskOutcome RunBlockwiseMethod(MaskRequest request, BlockRequest blocks, CancellationToken ct)
    {
        if (request.Method == "unet")
        {
            return RunUNetBlockwise(request, blocks, ct);
        }

        var clock = Stopwatch.StartNew();
        var job = new EmMask.IO.Blockwise.BlockwiseJob(
            request.Input, request.Output, request.Classical, request.PostProcess, blocks.Block, blocks.Budget, blocks.Resume,
            BlockwiseWriteOptions(request), request.Multiscale, request.ConfidenceOutput);
        var outcome = reporter.Run("classical mask, block-wise", progress => EmMask.IO.Blockwise.BlockwiseFileMasker.Run(job, progress, ct));
        foreach (var warning in outcome.Warnings)
        {
            reporter.Warn(warning);
        }

        foreach (var note in outcome.Notes)
        {
            reporter.Info(note);
        }

        double seconds = clock.Elapsed.TotalSeconds;
        var s = outcome.Shape;
        return new MaskOutcome(
            request.Input.ToString(), request.Output.ToString(), request.Method, [s.Z, s.Y, s.X],
            s.Length == 0 ? 0 : (double)outcome.TissueVoxels / s.Length, outcome.Threshold, 0, seconds, 0, outcome.Warnings, outcome.Notes,
            new Dictionary<string, double> { ["blockwise"] = seconds });
    }

    // The U-Net block by block (UNetBlockwise), with the same resumable store and streamed output as the classical run.
    // Without --block the blocks are sized by the budget (UNetBlockwise.BlockEdgeFor); where not even the smallest
    // fits, the run is refused before any compute.
    private MaskOutcome RunUNetBlockwise(MaskRequest request, BlockRequest blocks, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var source = new EmMask.IO.Blockwise.FileBlockSource(request.Input, ct);
        var (predictors, owned) = Predictors();
        using var lease = owned;
        var masker = new UNetMasker(predictors);
        long need = 0;
        int edge = blocks.Block ?? UNetBlockwise.BlockEdgeFor(blocks.Budget, source, masker, request.UNet, request.ConfidenceOutput is not null, out need);
        if (blocks.Block is null && need > blocks.Budget)
        {
            // The least budget that runs: in blocks, or in memory where that needs less (a volume of one block).
            string least = EmMask.IO.Blockwise.BlockwiseFileMasker.Format(Math.Min(need, UNetMemory.InMemoryBytes(source.Shape, source.VoxelSize, request.UNet.Stack)));
            throw new ArgumentException(
                $"--max-memory {EmMask.IO.Blockwise.BlockwiseFileMasker.Format(blocks.Budget)} is too small for the U-Net on {request.Input}: block by block, even its smallest blocks need about " +
                $"{EmMask.IO.Blockwise.BlockwiseFileMasker.Format(need)} (the tissue envelope is built for the whole volume, {UNetMemory.EnvelopeHeldBytesPerVoxel} bytes per voxel); give at least {least}, or --block N to run anyway.");
        }

        var (mask, notes) = reporter.Run("unet mask, block-wise", progress => EmMask.IO.Blockwise.BlockwiseFileMasker.Finish(
            request.Input, request.Output, request.PostProcess, blocks.Resume, BlockwiseWriteOptions(request),
            request.Multiscale, source, $"method: unet\nparameters: {request.UNet.ToJson()}\nblock: {edge}\ngrid: {UNetGridVersion}",
            (store, confidence, scaled) => UNetBlockwise.Run(source, store, masker, request.UNet, edge, scaled, ct, confidence, blocks.Budget),
            progress, ct, request.ConfidenceOutput));
        if (blocks.Block is null && !blocks.Resume)
        {
            long whole = UNetMemory.InMemoryBytes(source.Shape, source.VoxelSize, request.UNet.Stack);
            notes = [$"the U-Net in memory would need about {EmMask.IO.Blockwise.BlockwiseFileMasker.Format(whole)}, over the budget of {EmMask.IO.Blockwise.BlockwiseFileMasker.Format(blocks.Budget)} (--max-memory), so it ran block by block, its blocks sized by the budget (cores of {edge} voxels, about {EmMask.IO.Blockwise.BlockwiseFileMasker.Format(need)})", .. notes];
        }

        foreach (var line in notes)
        {
            reporter.Info(line);
        }

        double seconds = clock.Elapsed.TotalSeconds;
        var s = source.Shape;
        return new MaskOutcome(
            request.Input.ToString(), request.Output.ToString(), request.Method, [s.Z, s.Y, s.X],
            s.Length == 0 ? 0 : (double)mask.TissueVoxels / s.Length, ProbabilityMask.Threshold, 0, seconds, 0, mask.Warnings, notes,
            new Dictionary<string, double> { ["blockwise"] = seconds });
    }

    /// <summary>
    /// The U-Net block grid's version in a job's store manifest: a store cut by another grid is refused on --resume, not
    /// pasted. 2 (2026-12-07): the window of the stack's mode (wider in-plane section by section), whole axes within one
    /// window, and last blocks that read at least one window (UNetBlockwise.Geometry).
    /// </summary>
    private const int UNetGridVersion = 2;

    // How both block-wise paths write: their attributes, and the input's rank and stored shape, so that (1, H, W) stays (1, H, W).
    private static VolumeWriteOptions BlockwiseWriteOptions(MaskRequest request) =>
        new()
        {
            Force = request.Force,
            Attributes = BlockwiseAttributes(request),
            SingleSliceRank = VolumeReader.ReadRank(request.Input),
            StoredDimensions = VolumeReader.ReadStoredDimensions(request.Input),
        };

    private static Dictionary<string, string> BlockwiseAttributes(MaskRequest request) => new(RunAttributes(request))
    {
        ["blockwise"] = "true",
    };

    /// <summary>Masks one volume in memory by the request's method (no post-processing), with progress under <paramref name="label"/>.</summary>
    internal MaskResult Mask(IVolume input, MaskRequest request, string label, PredictorProvider predictors, Dictionary<string, double> stages, CancellationToken ct) =>
        reporter.Run(label, progress => request.Method switch
        {
            "classical" => ClassicalMasker.Run(input, request.Classical, progress, ct, confidence: request.ConfidenceOutput is not null),
            "unet" => RunUNet(input, request.UNet, predictors, progress, stages, ct),
            _ => throw new ArgumentException($"Unknown --method '{request.Method}'; use 'classical' or 'unet'."),
        });

    // The U-Net method runs here, in the CLI's own process (a process of its own, so no libtorch can clash).
    private static MaskResult RunUNet(IVolume input, UNetMaskOptions options, PredictorProvider predictors, IProgress<ProgressReport> progress, Dictionary<string, double> stages, CancellationToken ct)
    {
        var (result, report) = new UNetMasker(predictors).Run(input, options, progress, ct);
        foreach (var (stage, seconds) in report.Stages)
        {
            stages[stage] = seconds;
        }

        return result;
    }

    /// <summary>
    /// The attributes stored beside a mask: method, version, parameters (JSON), the threshold used, post-processing,
    /// source, and, where the classical masker names any, the sections whose texture did not split
    /// (<see cref="UnsplitAttribute"/>), so that the mask file itself says which sections to look at first.
    /// </summary>
    public static Dictionary<string, string> Attributes(MaskRequest request, MaskResult result)
    {
        var attributes = new Dictionary<string, string>(RunAttributes(request))
        {
            ["threshold_used"] = result.Threshold.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        };
        if (result.UnsplitSections is { Count: > 0 } unsplit)
        {
            attributes[UnsplitAttribute] = SectionList.Format(unsplit);
        }

        return attributes;
    }

    /// <summary>The attribute naming the sections whose texture did not split (<see cref="MaskResult.UnsplitSections"/>), e.g. <c>1,3-4</c>.</summary>
    public const string UnsplitAttribute = "unsplit_sections";

    /// <summary>What every mask written by a run records: method, version, parameters (JSON), post-processing, source, labels.</summary>
    internal static Dictionary<string, string> RunAttributes(MaskRequest request) => new()
    {
        ["method"] = request.Method,
        ["version"] = ToolVersion.Text,
        ["parameters"] = ParametersJson(request),
        ["postprocess"] = request.PostProcess.ToSpec(),
        ["source"] = request.Input.ToString(),
        ["labels"] = "1=brain,0=non-brain",
    };

    /// <summary>The method's parameters as JSON (the classical masker's snake_case parameters, or the U-Net's options).</summary>
    internal static string ParametersJson(MaskRequest request) =>
        request.Method == "classical" ? JsonSerializer.Serialize(request.Classical.ToParameters()) : request.UNet.ToJson();
}
