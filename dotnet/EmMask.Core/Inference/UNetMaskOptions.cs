using EmMask.Core.Masking;
using EmMask.Core.Options;

namespace EmMask.Core.Inference;

/// <summary>Numeric precision of the network's forward pass.</summary>
public enum Precision
{
    /// <summary>32-bit float (every device).</summary>
    Fp32,

    /// <summary>bfloat16 autocast (CUDA only).</summary>
    Bf16,

    /// <summary>float16 autocast (CUDA only).</summary>
    Fp16,
}

/// <summary>
/// Parameters of the U-Net method, and their schema (<see cref="OptionsSchema"/>): the CLI's options, the preset file's
/// keys, the worker protocol, the Python API and the napari panel are all this record. A parameter is added here.
/// </summary>
public sealed record UNetMaskOptions
{
    /// <summary>The defaults.</summary>
    public static UNetMaskOptions Default { get; } = new();

    /// <summary>The test-time flips of <see cref="Default"/>: 4 raised Dice on every one of 12 validation phantoms.</summary>
    public const int DefaultTestTimeFlips = 4;

    /// <summary>Model file (.safetensors or .pt, a MONAI UNet state dict), or null for the shipped model.</summary>
    [Option("U-Net model file (.safetensors or a MONAI .pt state dict); or a shipped model's name (em-mask-unet-v1: trained on phantoms only); empty: the shipped em-mask-unet-v2, fine-tuned on real EM (or EM_MASK_MODEL).", Suggestions = [ShippedModels.Default, ShippedModels.PhantomOnly])]
    public string? Model { get; init; }

    /// <summary>Edge of the cubic sliding window in voxels (a multiple of 16 after padding).</summary>
    [Option("Sliding-window edge in voxels (windows are padded to multiples of 16; section-wise stacks use 32-deep windows, 1.5x wider).", Label = "window (voxels)", Minimum = 16, Maximum = 512, Step = 16)]
    public int Roi { get; init; } = 64;

    /// <summary>Window overlap fraction.</summary>
    [Option("Overlap of neighbouring windows, a fraction in [0, 1); blended with Gaussian weights.", Minimum = 0, Maximum = 0.9, Step = 0.05)]
    public double Overlap { get; init; } = 0.25;

    /// <summary>Working scale (integer downsampling factor), or null for automatic from the voxel size.</summary>
    [Option("Working scale: run on the volume averaged over this factor, then upsample; auto: from the voxel size towards the model's 16 nm (8 nm -> 2; unknown -> 1).", Minimum = 1, Maximum = 8)]
    public int? Scale { get; init; }

    /// <summary>"auto", "cpu", "cuda" or "cuda:N".</summary>
    [Option("Device: auto (CUDA when available), cpu, cuda or cuda:N.", Choices = ["auto", "cpu", "cuda"])]
    public string Device { get; init; } = "auto";

    /// <summary>Forward-pass precision (reduced precision on CUDA only).</summary>
    [Option("Forward-pass precision: fp32, or bf16/fp16 autocast on CUDA (an error on the CPU).")]
    public Precision Precision { get; init; } = Precision.Fp32;

    /// <summary>Windows per batch.</summary>
    [Option("Windows per network batch.", Minimum = 1, Maximum = 256)]
    public int Batch { get; init; } = 2;

    /// <summary>Skip windows that hold no voxel of the tissue envelope.</summary>
    [Option("Skip windows that hold no voxel of the tissue envelope (exactly those the gate zeroes, so the result is the same; nothing is skipped without the envelope).", Label = "skip empty windows", Cli = "skip")]
    public bool SkipTiles { get; init; } = true;

    /// <summary>Gate the network by the tissue envelope (the classical mask, grown, holes filled).</summary>
    [Option("Decide only inside the tissue envelope (the classical mask grown by envelope_margin, holes filled); outside is non-brain.", Label = "tissue envelope")]
    public bool Envelope { get; init; } = true;

    /// <summary>
    /// With the envelope: stained regions that touch the classical mask join it (the classical masker's stain_join) and
    /// those outside the envelope that touch it join the envelope, in the sections whose resin the classical masker
    /// knows (<see cref="StainedAdmission"/>), so that the network decides on dark, smooth tissue the classical texture
    /// left out. Off turns off both joins (<see cref="TissueEnvelope.ClassicalOptions"/>).
    /// </summary>
    [Option("With the envelope: stained regions (beyond the tissue's median intensity, away from resin; at least 1000 voxels) that touch the classical mask or the envelope join the envelope, in sections of at least 128x128 masked one by one (2D mode); the network decides there. Off turns off both joins.", Label = "stained regions join the envelope")]
    public bool StainedJoin { get; init; } = true;

    /// <summary>Voxels by which the classical mask is grown into the envelope (half of it in sections whose resin it knows, <see cref="TissueEnvelope.FromMask"/>).</summary>
    [Option("Voxels by which the classical mask is grown (holes filled) into the envelope; half of it in sections of at least 128x128 whose resin the classical masker knows (2D mode).", Minimum = 0, Maximum = 256, Step = 1)]
    public double EnvelopeMargin { get; init; } = TissueEnvelope.DefaultMargin;

    /// <summary>
    /// With the envelope: the classical mask eroded in every section by <see cref="CoreDepth"/> voxels is tissue whatever
    /// the network says (<see cref="TissueEnvelope.Core"/>); the network decides near the classical boundary and in the
    /// holes the envelope fills.
    /// </summary>
    [Option("With the envelope: classical tissue deeper than core_depth voxels (in-plane) is tissue whatever the network says; the network decides near the classical boundary and in filled holes.", Label = "classical core")]
    public bool Core { get; init; }

    /// <summary>Depth (voxels, in-plane) below the classical mask's boundary from which the core begins.</summary>
    [Option("Voxels (in-plane) inside the classical boundary from which the classical core is tissue.", Minimum = 0, Maximum = 256, Step = 1)]
    public double CoreDepth { get; init; } = 4;

    /// <summary>
    /// With the core: the network's probability from which a core voxel is raised to tissue; below it the network's
    /// call stands (0 raises every core voxel). Real tissue the network calls non-brain is mostly uncertain (measured on
    /// the corpus's all-tissue items: the median probability of missed tissue 0.09–0.34), thin tracheae inside the
    /// classical mask are not.
    /// </summary>
    [Option("With the core: core voxels are raised to tissue only where the network's probability is at least this; below it the network's call stands (0 raises all).", Minimum = 0, Maximum = 0.5, Step = 0.05)]
    public double CoreFloor { get; init; }

    /// <summary>
    /// Hysteresis on the non-brain call (<see cref="NonBrainHysteresis"/>): a non-brain region is kept only where the
    /// network is sure of it somewhere (a voxel under this probability); 0 = off. Applied after the envelope and the
    /// core. The default, 0.01, was chosen on development data and met its rule (models/README.md, candidate 3).
    /// </summary>
    [Option("Hysteresis: a non-brain region (6-connected voxels under 0.5) stays non-brain only where it holds a voxel under this probability (the network sure of non-brain somewhere in it); regions of doubt inside the tissue become tissue; 0 = off.", Minimum = 0, Maximum = 0.5, Step = 0.01)]
    public double Hysteresis { get; init; } = 0.01;

    /// <summary>
    /// With the hysteresis: an anchor counts only where a second pass of the network at twice the working scale (a wider
    /// view) also gives a probability under this (<see cref="NonBrainHysteresis"/>); 0 = no second pass. Pale structures
    /// wider than the window (a nucleus) look like resin from inside; the wider view does not confirm them. The default,
    /// 0.2, was chosen on development data and met its rule (models/README.md, candidate 4).
    /// </summary>
    [Option("With the hysteresis: an anchor counts only where a second pass at twice the working scale (a wider view) also gives a probability under this, so pale structures wider than the window (nuclei) anchor no non-brain; 0 = no second pass.", Minimum = 0, Maximum = 0.5, Step = 0.05)]
    public double AnchorConfirm { get; init; } = 0.2;

    /// <summary>Test-time flips: 1, 4 or 8.</summary>
    [Option("Test-time flips: 1 (off), 4 (also mirrored along z, y, x) or 8 (every combination); probabilities averaged, that many times the network work.", Label = "test-time flips", Choices = ["1", "4", "8"])]
    public int Tta { get; init; } = DefaultTestTimeFlips;

    /// <summary>Volume or section by section.</summary>
    [Option("auto: section by section for stacks thinner than the window or with z spacing >= 2x the pixel size, else as a volume; volume; sections.")]
    public StackMode Stack { get; init; } = StackMode.Auto;

    /// <summary>Whether a run makes the second, wider pass that confirms the hysteresis's anchors.</summary>
    public bool ConfirmsAnchors() => Hysteresis > 0 && AnchorConfirm > 0;

    /// <summary>The working scales a run passes the network at: <paramref name="scale"/>, and twice it to confirm anchors.</summary>
    public int CoarsestScale(int scale) => ConfirmsAnchors() ? 2 * scale : scale;

    /// <summary>Reads options from their JSON form (snake_case, unknown keys refused) and validates them.</summary>
    public static UNetMaskOptions FromJson(string json) => OptionsJson.Read<UNetMaskOptions>(json).Validate();

    /// <summary>The options' JSON form.</summary>
    public string ToJson() => OptionsJson.Write(this).ToJsonString();

    /// <summary>Throws naming the first invalid parameter.</summary>
    public UNetMaskOptions Validate()
    {
        if (Roi < 1)
        {
            throw new ArgumentOutOfRangeException("roi", Roi, $"roi must be at least 1 voxel, got {Roi}.");
        }

        if (!(Overlap >= 0 && Overlap < 1))
        {
            throw new ArgumentOutOfRangeException("overlap", Overlap, $"overlap must be in [0, 1), got {Overlap}.");
        }

        if (Scale is < 1)
        {
            throw new ArgumentOutOfRangeException("scale", Scale, $"scale must be an integer >= 1 or auto, got {Scale}.");
        }

        if (Device is not ("cpu" or "cuda" or "auto") && !(Device?.StartsWith("cuda:", StringComparison.Ordinal) == true && int.TryParse(Device.AsSpan(5), out int n) && n >= 0))
        {
            throw new ArgumentOutOfRangeException("device", Device, $"device must be auto, cpu, cuda or cuda:N, got '{Device}'.");
        }

        if (Batch < 1)
        {
            throw new ArgumentOutOfRangeException("batch", Batch, $"batch must be at least 1, got {Batch}.");
        }

        if (!(CoreDepth >= 0) || !double.IsFinite(CoreDepth))
        {
            throw new ArgumentOutOfRangeException("core_depth", CoreDepth, $"core_depth must be a finite number >= 0, got {CoreDepth}.");
        }

        if (!(CoreFloor >= 0 && CoreFloor <= ProbabilityMask.Threshold))
        {
            throw new ArgumentOutOfRangeException("core_floor", CoreFloor, $"core_floor must be between 0 and {ProbabilityMask.Threshold}, got {CoreFloor}.");
        }

        if (!(Hysteresis >= 0 && Hysteresis <= ProbabilityMask.Threshold))
        {
            throw new ArgumentOutOfRangeException("hysteresis", Hysteresis, $"hysteresis must be between 0 and {ProbabilityMask.Threshold}, got {Hysteresis}.");
        }

        if (!(AnchorConfirm >= 0 && AnchorConfirm <= ProbabilityMask.Threshold))
        {
            throw new ArgumentOutOfRangeException("anchor_confirm", AnchorConfirm, $"anchor_confirm must be between 0 and {ProbabilityMask.Threshold}, got {AnchorConfirm}.");
        }

        if (!(EnvelopeMargin >= 0) || !double.IsFinite(EnvelopeMargin))
        {
            throw new ArgumentOutOfRangeException("envelope_margin", EnvelopeMargin, $"envelope_margin must be a finite number >= 0, got {EnvelopeMargin}.");
        }

        if (Tta is not (1 or 4 or 8))
        {
            throw new ArgumentOutOfRangeException("tta", Tta, $"tta (test-time flips) must be 1, 4 or 8, got {Tta}.");
        }

        if (!Enum.IsDefined(Precision))
        {
            throw new ArgumentOutOfRangeException("precision", Precision, "precision must be fp32, bf16 or fp16.");
        }

        if (!Enum.IsDefined(Stack))
        {
            throw new ArgumentOutOfRangeException("stack", Stack, "stack must be auto, volume or sections.");
        }

        return this;
    }
}
