using EmMask.Core.Volumes;
using EmMask.Learning.Models;

namespace EmMask.Learning.Training;

/// <summary>
/// Everything <see cref="UNetTrainer.Train"/> needs. Validated at the entry; invalid values throw
/// <see cref="ArgumentOutOfRangeException"/>/<see cref="ArgumentException"/> naming the parameter.
/// </summary>
public sealed record TrainingOptions
{
    /// <summary>Training volumes (normalised images + 0/1 labels). At least one.</summary>
    public required IReadOnlyList<TrainingVolume> Volumes { get; init; }

    /// <summary>Held-out validation volumes; empty = no validation (best = last).</summary>
    public IReadOnlyList<TrainingVolume> ValidationVolumes { get; init; } = [];

    /// <summary>Folder for best.safetensors, last.safetensors, last.optimizer, last.state.json and training_log.json. Created if missing.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Architecture of a fresh network (ignored when resuming or fine-tuning: the checkpoint's architecture wins).</summary>
    public UNetConfig Model { get; init; } = UNetConfig.Default;

    /// <summary>Patch shape; every axis a multiple of the network's size divisor (16 by default). Default 64³.</summary>
    public Shape3 Patch { get; init; } = new(64, 64, 64);

    /// <summary>Patches per optimiser step. Default 2.</summary>
    public int BatchSize { get; init; } = 2;

    /// <summary>Total optimiser steps (a resumed run continues up to this number).</summary>
    public int Steps { get; init; } = 1000;

    /// <summary>Adam learning rate. Default 1e-4.</summary>
    public double LearningRate { get; init; } = 1e-4;

    /// <summary>Seed of torch (weight init) and of patch sampling/augmentation.</summary>
    public long Seed { get; init; } = 0;

    /// <summary>Validate, save last.* and maybe best.* every this many steps (and at the end).</summary>
    public int ValidateEvery { get; init; } = 100;

    /// <summary>Validation volumes larger than this are centre-cropped to it (then padded to the size divisor).</summary>
    public Shape3 ValidationCrop { get; init; } = new(96, 160, 160);

    /// <summary>Continue from OutputDirectory's last.* files when they exist (weights, optimiser, RNG, step, log).</summary>
    public bool Resume { get; init; }

    /// <summary>Start from these weights (.safetensors or .pt) instead of random ones: fine-tuning.</summary>
    public string? InitialCheckpoint { get; init; }

    /// <summary>Torch intra-op threads (process-wide setting); null leaves torch's default.</summary>
    public int? Threads { get; init; }

    /// <summary>Data augmentation; <see cref="AugmentationOptions.None"/> disables it.</summary>
    public AugmentationOptions Augmentation { get; init; } = AugmentationOptions.Default;

    /// <summary>
    /// Relative frequencies of patch centres on tissue, non-brain far from tissue, label boundaries, and non-brain
    /// within 8 voxels of tissue (tracheae, holes, resin pockets); renormalised. Default (1, 1, 1, 1).
    /// </summary>
    public (double Tissue, double Resin, double Boundary, double NearTissue) CentreBalance { get; init; } = (1, 1, 1, 1);

    /// <summary>
    /// Relative frequency (on <see cref="CentreBalance"/>'s scale) of patch centres drawn from the volumes'
    /// <see cref="TrainingVolume.Focus"/> masks. Default 0: focus masks are ignored.
    /// </summary>
    public double FocusWeight { get; init; }

    /// <summary>
    /// Where the network trains: "cpu" (default), "cuda", "cuda:N" or "auto" (CUDA when libtorch sees a GPU, else the CPU).
    /// "cuda" without a CUDA build of libtorch or without a GPU is an <see cref="ArgumentException"/> before any work.
    /// </summary>
    public string Device { get; init; } = "cpu";

    /// <summary>
    /// Volumes with fewer sections than <see cref="Patch"/> (a single section, a 2-section stack) give 2-D patches: the
    /// centre's section copied into every section of the patch, as section-wise inference presents such stacks. False
    /// keeps the older behaviour: the volume centred in the patch with zero padding of weight 0. Default true.
    /// </summary>
    public bool ThinVolumesAsSections { get; init; } = true;

    /// <summary>Throws on the first invalid parameter.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Volumes, nameof(Volumes));
        if (Volumes.Count == 0) throw new ArgumentException("At least one training volume is needed.", nameof(Volumes));
        foreach (var v in Volumes) v.Validate(nameof(Volumes));
        ArgumentNullException.ThrowIfNull(ValidationVolumes, nameof(ValidationVolumes));
        foreach (var v in ValidationVolumes)
        {
            v.Validate(nameof(ValidationVolumes));
            if (v.LabelledRegion is not null) throw new ArgumentException("Validation volumes must be fully labelled.", nameof(ValidationVolumes));
        }
        ArgumentException.ThrowIfNullOrWhiteSpace(OutputDirectory, nameof(OutputDirectory));
        ArgumentNullException.ThrowIfNull(Model, nameof(Model));
        Model.Validate();
        if (Patch.Z < 1 || Patch.Y < 1 || Patch.X < 1) throw new ArgumentOutOfRangeException(nameof(Patch), Patch, "Patch axes must be positive.");
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(Steps, 1, nameof(Steps));
        if (!(LearningRate > 0 && LearningRate < 1)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "Learning rate must be in (0, 1).");
        ArgumentOutOfRangeException.ThrowIfLessThan(ValidateEvery, 1, nameof(ValidateEvery));
        if (ValidationCrop.Z < 1 || ValidationCrop.Y < 1 || ValidationCrop.X < 1) throw new ArgumentOutOfRangeException(nameof(ValidationCrop), ValidationCrop, "Crop axes must be positive.");
        if (Threads is < 1) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "Threads must be at least 1.");
        if (InitialCheckpoint is not null && !File.Exists(InitialCheckpoint))
            throw new ArgumentException($"Initial checkpoint '{InitialCheckpoint}' does not exist.", nameof(InitialCheckpoint));
        var (t, r, b, nt) = CentreBalance;
        if (t < 0 || r < 0 || b < 0 || nt < 0 || t + r + b + nt <= 0) throw new ArgumentOutOfRangeException(nameof(CentreBalance), CentreBalance, "Fractions must be non-negative with a positive sum.");
        if (!(FocusWeight >= 0) || double.IsInfinity(FocusWeight)) throw new ArgumentOutOfRangeException(nameof(FocusWeight), FocusWeight, "Focus weight must be a finite number >= 0.");
        ArgumentNullException.ThrowIfNull(Augmentation, nameof(Augmentation));
        Augmentation.Validate();
        ArgumentException.ThrowIfNullOrWhiteSpace(Device, nameof(Device));
        if (Device.Trim().ToLowerInvariant() is not ("cpu" or "cuda" or "auto") && !Device.Trim().StartsWith("cuda:", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentOutOfRangeException(nameof(Device), Device, "Device must be cpu, cuda, cuda:N or auto.");
    }
}

/// <summary>
/// Random augmentation applied per patch. Geometric: flips on every axis and 90° in-plane (YX)
/// rotations (when Y == X). Intensity (image only, labels untouched): gamma, scale/shift,
/// contrast inversion (so one model serves bright-tissue and dark-tissue stacks), Gaussian blur
/// and Gaussian noise.
/// </summary>
/// <param name="Flips">Random flips of Z, Y and X (each p = 0.5).</param>
/// <param name="Rotations">Random 90° rotations in the YX plane.</param>
/// <param name="IntensityProbability">Probability of the scale/shift and of the gamma change.</param>
/// <param name="Scale">Multiplicative range (lo, hi).</param>
/// <param name="Shift">Additive range (lo, hi).</param>
/// <param name="Gamma">Gamma range (lo, hi), applied to the [0, 1] part.</param>
/// <param name="InvertProbability">Probability of v → 1 − v.</param>
/// <param name="NoiseProbability">Probability of additive Gaussian noise.</param>
/// <param name="NoiseSigma">Maximum noise σ (drawn uniformly in [0, max]).</param>
/// <param name="BlurProbability">Probability of a Gaussian blur.</param>
/// <param name="BlurSigma">Blur σ range in voxels.</param>
/// <param name="ZoomProbability">
/// Probability of a zoom: the patch is cut from a region <c>z</c> times its size and resampled to it (image trilinear,
/// labels and weights nearest), as if the voxels were <c>z</c> times larger. 0 (default) draws no random numbers for
/// it, so older runs replay unchanged.
/// </param>
/// <param name="Zoom">Zoom range (lo, hi), drawn log-uniformly; below 1 structures look larger (finer voxels).</param>
/// <param name="SectionThicknessProbability">
/// Probability of thick sections (anisotropy): every k-th section (random phase, k drawn from
/// <paramref name="SectionThickness"/>) is repeated k times along z, in image, labels and weights alike; in half of the
/// cases the image is the mean of the k sections it stands for, as a thick section would integrate them. Serial-section
/// data (ssTEM, ATUM) has sections 3–10 times thicker than its pixels.
/// </param>
/// <param name="SectionThickness">Range (lo, hi) of k, inclusive, each ≥ 1.</param>
/// <param name="SectionShiftProbability">
/// Probability of misaligned sections: either every section after a random one is displaced by the same (dy, dx), or
/// every section by its own; offsets up to <paramref name="SectionShift"/> voxels. Image, labels and weights move
/// together (the labels of a misaligned stack follow its sections); voxels shifted in from outside the patch weigh 0.
/// </param>
/// <param name="SectionShift">Largest offset, in voxels along y and x.</param>
/// <param name="MissingSectionProbability">
/// Probability that one or two sections are lost: replaced by a constant (a blank frame) or by a copy of the
/// neighbouring section (as aligners fill gaps). Those sections weigh 0: the network must not learn a label for them,
/// only keep its answer on the sections around them.
/// </param>
/// <param name="JpegProbability">
/// Probability of JPEG block artefacts: each section goes through an 8×8 DCT quantised with the JPEG luminance table at
/// a quality drawn from <paramref name="JpegQuality"/> (on the 0–1 range mapped to 0–255, random block-grid phase).
/// Many public EM stacks are served as JPEG tiles.
/// </param>
/// <param name="JpegQuality">JPEG quality range (lo, hi) within 1..100; lower is coarser.</param>
/// <param name="SeamProbability">
/// Probability of a tile seam: a straight line across the section (along y or x) beyond which the intensity is scaled
/// and shifted by up to <paramref name="SeamStep"/> (montage tiles with different brightness), sometimes with a one-voxel
/// line of changed intensity on the seam.
/// </param>
/// <param name="SeamStep">Largest intensity step at a seam, in normalised units.</param>
/// <param name="PlanarProbability">
/// Probability of a 2-D patch: after every other augmentation one section (the middle one) is copied into all
/// sections, image, labels and weights, exactly as the U-Net's section-wise inference feeds a single section of a thin
/// or strongly anisotropic stack (<c>EmMask.Core.Inference.SectionwiseInference</c>).
/// </param>
/// <param name="CurtainProbability">Probability of FIB-SEM curtaining (<see cref="Curtaining"/>).</param>
/// <param name="CurtainStrength">Largest curtain streak amplitude, in normalised intensity.</param>
/// <remarks>
/// Every option added after <paramref name="BlurSigma"/> defaults to off, and an option that is off draws no random
/// numbers, so runs with older option sets replay unchanged.
/// </remarks>
public sealed record AugmentationOptions(
    bool Flips, bool Rotations, double IntensityProbability, (double, double) Scale, (double, double) Shift,
    (double, double) Gamma, double InvertProbability, double NoiseProbability, double NoiseSigma,
    double BlurProbability, (double, double) BlurSigma, double ZoomProbability = 0, (double, double) Zoom = default,
    double SectionThicknessProbability = 0, (int, int) SectionThickness = default,
    double SectionShiftProbability = 0, int SectionShift = 0,
    double MissingSectionProbability = 0,
    double JpegProbability = 0, (double, double) JpegQuality = default,
    double SeamProbability = 0, double SeamStep = 0,
    double PlanarProbability = 0,
    double CurtainProbability = 0, double CurtainStrength = 0)
{
    /// <summary>Defaults used for the shipped v1 model (phantoms only).</summary>
    public static AugmentationOptions Default { get; } = new(true, true, 0.8, (0.75, 1.3), (-0.15, 0.15), (0.7, 1.5), 0.5, 0.3, 0.08, 0.2, (0.5, 1.2));

    /// <summary>
    /// What real EM needs on top of <see cref="Default"/> (used for em-mask-unet-v2): inversion only at p = 0.2 (real
    /// stacks mostly come in TEM-like contrast, where resin is bright, and a polarity-blind network calls dark smooth
    /// tissue resin; phantoms of both contrasts keep it polarity-tolerant), noise σ ≤ 0.1 and stronger blur, zoom
    /// 0.4–1.0 (p = 0.5: data of unknown pixel size runs at full resolution, often 2–3 times finer than the 16 nm the
    /// network works at; zoom above 1 and noise up to 0.2 made tissue look like resin noise, and the network then
    /// called phantom resin brain: held-out Dice 0.89 alone), thick sections (k 2–4), misaligned (≤ 4 voxels) and missing sections, JPEG blocks at quality 15–85,
    /// tile seams, and 2-D patches (p = 0.35) for thin and anisotropic stacks.
    /// </summary>
    public static AugmentationOptions RealEm { get; } = Default with
    {
        InvertProbability = 0.2,
        NoiseProbability = 0.4,
        NoiseSigma = 0.1,
        BlurProbability = 0.25,
        BlurSigma = (0.5, 1.5),
        ZoomProbability = 0.5,
        Zoom = (0.4, 1.0),
        SectionThicknessProbability = 0.2,
        SectionThickness = (2, 4),
        SectionShiftProbability = 0.15,
        SectionShift = 4,
        MissingSectionProbability = 0.1,
        JpegProbability = 0.2,
        JpegQuality = (15, 85),
        SeamProbability = 0.15,
        SeamStep = 0.1,
        PlanarProbability = 0.35,
    };

    /// <summary>
    /// <see cref="RealEm"/> plus FIB-SEM curtaining (p = 0.25, streak amplitude up to 0.15 of the normalised range, as the phantoms draw it,
    /// strongest in non-brain; <see cref="Curtaining"/>), so streaked resin is taught as resin on real textures too
    /// (candidate v6 in the model card).
    /// </summary>
    public static AugmentationOptions RealEmCurtains { get; } = RealEm with { CurtainProbability = 0.25, CurtainStrength = 0.15 };

    /// <summary>No augmentation at all.</summary>
    public static AugmentationOptions None { get; } = new(false, false, 0, (1, 1), (0, 0), (1, 1), 0, 0, 0, 0, (0, 0));

    /// <summary>The preset a name selects: "default", "real-em", "real-em-curtains" or "none" (the CLI's <c>--augment</c>, the fine-tuning options).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Any other name.</exception>
    public static AugmentationOptions FromName(string name, string parameter = "augment") => name switch
    {
        "default" => Default,
        "real-em" => RealEm,
        "real-em-curtains" => RealEmCurtains,
        "none" => None,
        _ => throw new ArgumentOutOfRangeException(parameter, name, $"Unknown {parameter} '{name}'; use default, real-em, real-em-curtains or none."),
    };

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        static void Probability(double p, string name)
        {
            if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(name, p, "A probability must be in [0, 1].");
        }

        Probability(IntensityProbability, nameof(IntensityProbability));
        Probability(InvertProbability, nameof(InvertProbability));
        Probability(NoiseProbability, nameof(NoiseProbability));
        Probability(BlurProbability, nameof(BlurProbability));
        Probability(ZoomProbability, nameof(ZoomProbability));
        Probability(SectionThicknessProbability, nameof(SectionThicknessProbability));
        Probability(SectionShiftProbability, nameof(SectionShiftProbability));
        Probability(MissingSectionProbability, nameof(MissingSectionProbability));
        Probability(JpegProbability, nameof(JpegProbability));
        Probability(SeamProbability, nameof(SeamProbability));
        Probability(PlanarProbability, nameof(PlanarProbability));
        Probability(CurtainProbability, nameof(CurtainProbability));
        if (CurtainProbability > 0 && !(CurtainStrength > 0 && double.IsFinite(CurtainStrength)))
            throw new ArgumentOutOfRangeException(nameof(CurtainStrength), CurtainStrength, "Curtain strength must be a positive finite number.");
        if (ZoomProbability > 0 && !(Zoom.Item1 > 0 && Zoom.Item1 <= Zoom.Item2 && double.IsFinite(Zoom.Item2)))
            throw new ArgumentOutOfRangeException(nameof(Zoom), Zoom, "Zoom range must be 0 < lo <= hi (finite).");
        if (SectionThicknessProbability > 0 && !(SectionThickness.Item1 >= 1 && SectionThickness.Item1 <= SectionThickness.Item2))
            throw new ArgumentOutOfRangeException(nameof(SectionThickness), SectionThickness, "Section thickness range must be 1 <= lo <= hi.");
        if (SectionShiftProbability > 0 && SectionShift < 1)
            throw new ArgumentOutOfRangeException(nameof(SectionShift), SectionShift, "Section shift must be at least 1 voxel.");
        if (JpegProbability > 0 && !(JpegQuality.Item1 >= 1 && JpegQuality.Item1 <= JpegQuality.Item2 && JpegQuality.Item2 <= 100))
            throw new ArgumentOutOfRangeException(nameof(JpegQuality), JpegQuality, "JPEG quality range must be 1 <= lo <= hi <= 100.");
        if (SeamProbability > 0 && !(SeamStep > 0 && double.IsFinite(SeamStep)))
            throw new ArgumentOutOfRangeException(nameof(SeamStep), SeamStep, "Seam step must be a positive finite number.");
        if (NoiseProbability > 0 && !(NoiseSigma >= 0 && double.IsFinite(NoiseSigma)))
            throw new ArgumentOutOfRangeException(nameof(NoiseSigma), NoiseSigma, "Noise sigma must be a finite number >= 0.");
        if (BlurProbability > 0 && !(BlurSigma.Item1 > 0 && BlurSigma.Item1 <= BlurSigma.Item2 && double.IsFinite(BlurSigma.Item2)))
            throw new ArgumentOutOfRangeException(nameof(BlurSigma), BlurSigma, "Blur sigma range must be 0 < lo <= hi (finite).");
    }
}
