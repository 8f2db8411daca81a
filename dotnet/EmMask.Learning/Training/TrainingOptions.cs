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
        if (!(Augmentation.ZoomProbability >= 0 && Augmentation.ZoomProbability <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(Augmentation), Augmentation.ZoomProbability, "Zoom probability must be in [0, 1].");
        }

        if (Augmentation.ZoomProbability > 0 && !(Augmentation.Zoom.Item1 > 0 && Augmentation.Zoom.Item1 <= Augmentation.Zoom.Item2 && double.IsFinite(Augmentation.Zoom.Item2)))
        {
            throw new ArgumentOutOfRangeException(nameof(Augmentation), Augmentation.Zoom, "Zoom range must be 0 < lo <= hi (finite).");
        }
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
public sealed record AugmentationOptions(
    bool Flips, bool Rotations, double IntensityProbability, (double, double) Scale, (double, double) Shift,
    (double, double) Gamma, double InvertProbability, double NoiseProbability, double NoiseSigma,
    double BlurProbability, (double, double) BlurSigma, double ZoomProbability = 0, (double, double) Zoom = default)
{
    /// <summary>Defaults used for the shipped model.</summary>
    public static AugmentationOptions Default { get; } = new(true, true, 0.8, (0.75, 1.3), (-0.15, 0.15), (0.7, 1.5), 0.5, 0.3, 0.08, 0.2, (0.5, 1.2));

    /// <summary>No augmentation at all.</summary>
    public static AugmentationOptions None { get; } = new(false, false, 0, (1, 1), (0, 0), (1, 1), 0, 0, 0, 0, (0, 0));
}
