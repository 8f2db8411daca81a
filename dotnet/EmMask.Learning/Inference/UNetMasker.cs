using System.Diagnostics;
using EmMask.Core.Inference;
using EmMask.Core.Masking;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;
using EmMask.Learning.Models;
using EmMask.Learning.Preprocessing;

namespace EmMask.Learning.Inference;

/// <summary>
/// The U-Net method, whole: normalise, working scale, tissue envelope, tile skipping, sliding window with Gaussian
/// blending (section by section for thin or anisotropic stacks), gate, threshold. Every entry point runs this class:
/// the CLI in its own process, the worker for the napari plugin and Python, and the block executor per block. Same input
/// and options give the same mask on every path.
/// </summary>
/// <param name="predictors">Loads models (and keeps the last one loaded: reusing the provider saves the load).</param>
public sealed class UNetMasker(IPredictorProvider predictors)
{
    /// <summary>
    /// Windows holding no voxel of the envelope are not run through the network. The envelope is 0/1, so the skip threshold
    /// only separates 0 from 1. The mask, not the classical confidence, is its source: artefacts in resin reach confidence
    /// 0.99 in single voxels, which the window maximum would always see.
    /// </summary>
    public const float SkipConfidence = 0.5f;

    /// <summary>The job's fraction at which the wider view begins (it has a quarter to an eighth of the windows).</summary>
    private const double WiderViewStart = 0.85;

    /// <summary>What a run did besides its mask.</summary>
    /// <param name="Windows">Windows planned.</param>
    /// <param name="Skipped">Windows left out (outside the envelope).</param>
    /// <param name="Scale">Working scale used.</param>
    /// <param name="Model">Model file (or built-in name) used.</param>
    /// <param name="StartupSeconds">libtorch and device start-up (the CUDA context), beside the envelope.</param>
    /// <param name="LoadSeconds">Model load (the weights, to the device), after the start-up, beside the envelope.</param>
    /// <param name="EnvelopeSeconds">The classical envelope.</param>
    /// <param name="NetworkSeconds">Sliding window and network.</param>
    public sealed record Report(int Windows, int Skipped, int Scale, string Model, double StartupSeconds, double LoadSeconds, double EnvelopeSeconds, double NetworkSeconds)
    {
        /// <summary>The stage timings by name (seconds), as the CLI's --json gives them.</summary>
        public IReadOnlyDictionary<string, double> Stages => new Dictionary<string, double>
        {
            ["device_startup"] = StartupSeconds,
            ["model_load"] = LoadSeconds,
            ["envelope"] = EnvelopeSeconds,
            ["network"] = NetworkSeconds,
        };
    }

    /// <summary>
    /// Runs the U-Net on a uint8, uint16 or float32 volume. The confidence is the probability (0 outside the envelope when
    /// it gates); the mask is <see cref="ProbabilityMask.From"/>. <paramref name="probability"/>, when given, receives
    /// the probabilities (the worker's shared output) and is the result's confidence.
    /// </summary>
    /// <exception cref="ArgumentException">An invalid option (named) or reduced precision on the CPU.</exception>
    /// <exception cref="ModelNotFoundException">The model file does not exist.</exception>
    public (MaskResult Result, Report Report) Run(IVolume input, UNetMaskOptions options, IProgress<ProgressReport>? progress = null, CancellationToken ct = default, Volume<float>? probability = null) =>
        Run(input, options, null, progress, ct, probability);

    /// <summary>
    /// As the other overload, for one block of a larger volume (<see cref="UNetBlockwise"/>): the normalisation and the
    /// tissue envelope come from <paramref name="block"/>, measured on the whole volume, instead of from the block.
    /// </summary>
    public (MaskResult Result, Report Report) Run(IVolume input, UNetMaskOptions options, UNetBlockContext? block, IProgress<ProgressReport>? progress = null, CancellationToken ct = default, Volume<float>? probability = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        options = (options ?? UNetMaskOptions.Default).Validate();
        string model = ModelLocator.Resolve(options.Model);
        var warnings = new List<string>();
        var notes = new List<string>();
        var normal = block is null ? IntensityNormalizer.Normalize(input, ct) : IntensityNormalizer.Normalize(input, block.Intensity, ct);
        if (normal.IsConstant)
        {
            warnings.Add($"The volume is constant (value {normal.Low:g}); the mask is all 0 (non-brain).");
            var zero = probability ?? normal.Normalized.Like<float>();
            zero.Span.Clear();
            return (new MaskResult(normal.Normalized.Like<byte>(), zero, ProbabilityMask.Threshold, warnings, notes), new Report(0, 0, 1, model, 0, 0, 0, 0));
        }

        int scale = options.Scale ?? WorkingScale.FromVoxelSize(input.VoxelSize, input.Shape);
        if (options.Scale is null && scale > 1)
        {
            var nm = WorkingScale.Nanometres(input.VoxelSize)!.Value;
            notes.Add(FormattableString.Invariant($"Working scale {scale} (auto: voxel size {nm.Z:g}×{nm.Y:g}×{nm.X:g} nm, the model's {WorkingScale.ModelVoxelNm:g} nm; scale 1 keeps full resolution)."));
        }

        // Loading the model (libtorch's start-up and the weights) mostly waits on the loader and the disk, so it runs
        // beside the envelope's classical mask instead of after it.
        var clock = Stopwatch.StartNew();
        double startupSeconds = 0, loadSeconds = 0;
        var loading = Task.Run(
            () =>
            {
                if (!ModelLocator.IsBuiltin(model))
                {
                    startupSeconds = ModelStore.StartDevice(options.Device);
                }

                var loaded = predictors.Get(model, options.Device, options.Precision);
                loadSeconds = clock.Elapsed.TotalSeconds - startupSeconds;
                return loaded;
            },
            CancellationToken.None);
        SlidingWindowResult windows;
        SlidingWindowResult? wider = null;
        Volume<byte>? envelope = null, core = null, lost = null;
        bool skip = options.SkipTiles && options.Envelope; // only then are the skipped windows exactly those the gate zeroes
        double envelopeSeconds = 0, networkSeconds;
        try
        {
            if (options.Envelope)
            {
                progress?.Report(new ProgressReport("tissue envelope", 0.0));
                if (block?.Envelope is { } given)
                {
                    (envelope, core, lost) = (given, block.Core, block.Lost); // the block-wise run's core: with --core, or next to padding
                }
                else
                {
                    (envelope, core, long joined, var valid) = TissueEnvelope.Regions(input, options.EnvelopeMargin, options.Core ? options.CoreDepth : null, options.StainedJoin, null, ct);
                    lost = NonBrainHysteresis.LostSections(valid);
                    if (joined > 0)
                    {
                        notes.Add(StainedAdmission.Note(joined, input.Shape.Length));
                    }
                }

                envelopeSeconds = clock.Elapsed.TotalSeconds;
            }

            var skipScore = skip ? TissueEnvelope.AsSkipScore(envelope!) : null;

            // The model's own normalisation (the one it was trained with) on the NaN-cleaned volume. Percentile
            // normalisation is invariant to the positive affine map applied above, so this equals normalising the raw
            // input once.
            var volume = normal.Normalized;
            if (block is null)
            {
                IntensityNormalization.Normalize(volume);
            }
            else
            {
                IntensityNormalization.Apply(volume.Span, volume.Span, block.ModelLow, block.ModelHigh);
            }
            var loaded = loading.GetAwaiter().GetResult();
            var network = Stopwatch.StartNew();
            var windowOptions = WindowOptions(options, scale, loaded.SizeDivisor);
            bool confirm = options.ConfirmsAnchors();
            windows = SlidingWindowInferer.Run(volume, loaded.Predictor, windowOptions, ProgressRange.Of(progress, 0, confirm ? WiderViewStart : 1) ?? NoProgress.Instance, ct, skipScore, probability);
            if (confirm)
            {
                // The hysteresis's confirming view: the same network and windows at twice the scale (a wider view), run
                // only where an anchor could be (elsewhere its values are never read).
                int widerScale = options.CoarsestScale(scale);
                var where = NonBrainHysteresis.ConfirmationScore(windows.Probabilities, envelope, options.Hysteresis, widerScale, ct);
                var widerOptions = windowOptions with { Scale = widerScale, SkipThreshold = SkipConfidence };
                wider = SlidingWindowInferer.Run(volume, loaded.Predictor, widerOptions, ProgressRange.Of(progress, WiderViewStart, 1 - WiderViewStart, "wider view: ") ?? NoProgress.Instance, ct, where);
            }

            networkSeconds = network.Elapsed.TotalSeconds;
        }
        finally
        {
            // Never let the caller dispose the provider under a load still running (a cancel or an error in the envelope).
            ((IAsyncResult)loading).AsyncWaitHandle.WaitOne();
        }

        var p = windows.Probabilities;
        if (options.Envelope)
        {
            TissueEnvelope.Gate(p, envelope!);
            if (core is not null)
            {
                TissueEnvelope.Raise(p, core, options.CoreFloor);
            }

            if (wider is not null)
            {
                TissueEnvelope.Gate(wider.Probabilities, envelope!);
            }
        }

        // Lost sections (all padding to the classical masker; known only with the envelope) are in no region of the hysteresis.
        var anchors = new NonBrainHysteresis.Anchors(options.Hysteresis, wider?.Probabilities, options.AnchorConfirm, lost);

        p.VoxelSize = input.VoxelSize; // the mask takes it from the probabilities

        // Hysteresis is global: a block-wise run carries the anchors in its stored mask and resolves them over all blocks.
        Volume<byte> mask;
        if (options.Hysteresis > 0 && block is not null)
        {
            mask = NonBrainHysteresis.Coded(p, anchors);
        }
        else
        {
            long raised = NonBrainHysteresis.Apply(p, anchors, ct);
            if (raised > 0)
            {
                string confirmed = wider is null ? "" : $" (confirmed under {options.AnchorConfirm} at scale {options.CoarsestScale(scale)})";
                notes.Add($"hysteresis: {raised} voxels of non-brain without a voxel under {options.Hysteresis}{confirmed} became tissue.");
            }

            mask = ProbabilityMask.From(p);
        }

        notes.Insert(0, $"U-Net ran {windows.Windows - windows.Skipped} of {windows.Windows} windows ({windows.Skipped} windows outside the tissue envelope skipped)"
            + (wider is null ? "." : $", and {wider.Windows - wider.Skipped} of {wider.Windows} at scale {options.CoarsestScale(scale)} to confirm the hysteresis's anchors (the others hold no possible anchor)."));
        var result = new MaskResult(mask, p, ProbabilityMask.Threshold, warnings, notes);
        return (result, new Report(windows.Windows, windows.Skipped, scale, model, startupSeconds, loadSeconds, envelopeSeconds, networkSeconds));
    }

    /// <summary>
    /// The sliding-window options a run under <paramref name="options"/> uses at <paramref name="scale"/>: the block-wise
    /// run lays its blocks on their window grid (<see cref="UNetBlockwise.Geometry"/>). Loads the model, as a run does,
    /// for its size divisor (the provider keeps it for the run).
    /// </summary>
    public SlidingWindowOptions WindowOptions(UNetMaskOptions options, int scale)
    {
        options = (options ?? UNetMaskOptions.Default).Validate();
        string model = ModelLocator.Resolve(options.Model);
        if (!ModelLocator.IsBuiltin(model))
        {
            ModelStore.StartDevice(options.Device);
        }

        return WindowOptions(options, scale, predictors.Get(model, options.Device, options.Precision).SizeDivisor);
    }

    // The one place the options become window options: skipping only with the envelope (then the skipped windows are
    // exactly those the gate zeroes).
    private static SlidingWindowOptions WindowOptions(UNetMaskOptions options, int scale, int sizeDivisor) => new(
        new Shape3(options.Roi, options.Roi, options.Roi), options.Overlap, options.Batch, scale,
        options.SkipTiles && options.Envelope ? SkipConfidence : null, TestTimeFlips: options.Tta, Stack: options.Stack, PadMultiple: sizeDivisor);

    private sealed class NoProgress : IProgress<ProgressReport>
    {
        public static readonly NoProgress Instance = new();

        public void Report(ProgressReport value)
        {
        }
    }
}

/// <summary>What a block of a larger volume takes from the whole volume (<see cref="UNetBlockwise"/>).</summary>
/// <param name="Intensity">The intensity map measured on the volume's sample.</param>
/// <param name="ModelLow">The model normalisation's 1st percentile, measured on the normalised sample.</param>
/// <param name="ModelHigh">Its 99th percentile.</param>
/// <param name="Envelope">The block's part of the whole volume's tissue envelope (null without an envelope).</param>
/// <param name="Core">The block's part of the whole volume's classical core (null without one).</param>
/// <param name="Lost">The block's part of the whole volume's lost-section map (<see cref="NonBrainHysteresis.LostSections"/>; null where no section is lost).</param>
public sealed record UNetBlockContext(IntensityNormalizer.IntensityMap Intensity, float ModelLow, float ModelHigh, Volume<byte>? Envelope, Volume<byte>? Core = null, Volume<byte>? Lost = null);
