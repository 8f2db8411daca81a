using EmMask.Core.Options;
using EmMask.Core.Volumes;

namespace EmMask.Core.Inference;

/// <summary>
/// Parameters of fine-tuning the U-Net from proofread sections (<c>EmMask.Learning.Training.ProofreadFineTuning</c>), and
/// their schema: the worker protocol, the Python API and the napari panel are all this record. A parameter is added
/// here. The defaults are those of the model card's proofread-section experiment (1000 steps, lr 1e-4, 48³ patches,
/// batch 2, the v1 augmentation): about 80 s on a 2-core CPU.
/// </summary>
public sealed record FineTuneOptions
{
    /// <summary>The defaults.</summary>
    public static FineTuneOptions Default { get; } = new();

    /// <summary>The label of a voxel the proofreader has not checked (1 tissue, 0 non-brain).</summary>
    public const byte NotProofread = 255;

    /// <summary>
    /// Throws <see cref="ArgumentException"/> (naming <c>labels</c>) when the proofread labels' shape differs from the
    /// image's: every entry point checks this before any work (the worker client before it writes the shared file).
    /// </summary>
    public static void CheckLabelShape(Shape3 image, Shape3 labels)
    {
        if (labels != image)
        {
            throw new ArgumentException($"The proofread labels' shape {labels} differs from the image's {image}.", "labels");
        }
    }

    /// <summary>The model to start from (a file or a shipped model's name), or null for the default shipped model.</summary>
    [Option("The model to start from: a .safetensors/.pt file or a shipped model's name; empty: the shipped em-mask-unet-v2 (or EM_MASK_MODEL).", Label = "start from", Suggestions = [ShippedModels.Default, ShippedModels.PhantomOnly])]
    public string? Model { get; init; }

    /// <summary>Optimiser steps.</summary>
    [Option("Optimiser steps (about 13 a second on a 2-core CPU with 48³ patches: 1000 steps took 76 s; 300 steps learnt a proofread section about half as well).", Minimum = 1, Maximum = 100000, Step = 50)]
    public int Steps { get; init; } = 1000;

    /// <summary>Adam learning rate.</summary>
    [Option("Adam learning rate.", Label = "learning rate", Minimum = 1e-6, Maximum = 1e-2, Step = 1e-5)]
    public double LearningRate { get; init; } = 1e-4;

    /// <summary>Patch edge in voxels (a multiple of 16).</summary>
    [Option("Training patch edge in voxels (a multiple of 16).", Minimum = 16, Maximum = 256, Step = 16)]
    public int Patch { get; init; } = 48;

    /// <summary>Patches per step.</summary>
    [Option("Patches per optimiser step.", Minimum = 1, Maximum = 64)]
    public int Batch { get; init; } = 2;

    /// <summary>Seed of the patch sampling and augmentation (runs are deterministic for a seed and thread count).</summary>
    [Option("Random seed (runs are deterministic for a seed, thread count and libtorch build).", Minimum = 0, Maximum = int.MaxValue)]
    public long Seed { get; init; }

    /// <summary>Augmentation preset: "default", "real-em" or "none".</summary>
    [Option("Augmentation: default (flips, rotations, intensity, blur, noise, inversion), real-em (also thick, shifted and missing sections, JPEG blocks, tile seams, zoom, 2-D patches) or none.", Choices = ["default", "real-em", "none"])]
    public string Augment { get; init; } = "default";

    /// <summary>Working scale the model will run at, or null for automatic from the voxel size (as the U-Net mask chooses).</summary>
    [Option("Working scale to train at: the volume averaged over this factor, as `mask --scale` feeds the network; auto: from the voxel size, as the U-Net mask chooses it.", Minimum = 1, Maximum = 8)]
    public int? Scale { get; init; }

    /// <summary>"auto", "cpu", "cuda" or "cuda:N".</summary>
    [Option("Device: cpu, auto (CUDA when available) or cuda.", Choices = ["cpu", "auto", "cuda"])]
    public string Device { get; init; } = "cpu";

    /// <summary>Reads options from their JSON form (snake_case, unknown keys refused) and validates them.</summary>
    public static FineTuneOptions FromJson(string json) => OptionsJson.Read<FineTuneOptions>(json).Validate();

    /// <summary>The options' JSON form.</summary>
    public string ToJson() => OptionsJson.Write(this).ToJsonString();

    /// <summary>Throws naming the first invalid parameter.</summary>
    public FineTuneOptions Validate()
    {
        if (Steps < 1)
        {
            throw new ArgumentOutOfRangeException("steps", Steps, $"steps must be at least 1, got {Steps}.");
        }

        if (!(LearningRate > 0 && LearningRate < 1))
        {
            throw new ArgumentOutOfRangeException("learning_rate", LearningRate, $"learning_rate must be in (0, 1), got {LearningRate}.");
        }

        if (Patch < 16 || Patch % 16 != 0)
        {
            throw new ArgumentOutOfRangeException("patch", Patch, $"patch must be a positive multiple of 16, got {Patch}.");
        }

        if (Batch < 1)
        {
            throw new ArgumentOutOfRangeException("batch", Batch, $"batch must be at least 1, got {Batch}.");
        }

        if (Seed < 0)
        {
            throw new ArgumentOutOfRangeException("seed", Seed, $"seed must be >= 0, got {Seed}.");
        }

        if (Augment is not ("default" or "real-em" or "none"))
        {
            throw new ArgumentOutOfRangeException("augment", Augment, $"augment must be default, real-em or none, got '{Augment}'.");
        }

        if (Scale is < 1 or > 8)
        {
            throw new ArgumentOutOfRangeException("scale", Scale, $"scale must be an integer in 1..8 or auto, got {Scale}.");
        }

        if (Device is not ("cpu" or "cuda" or "auto") && !(Device?.StartsWith("cuda:", StringComparison.Ordinal) == true && int.TryParse(Device.AsSpan(5), out int n) && n >= 0))
        {
            throw new ArgumentOutOfRangeException("device", Device, $"device must be auto, cpu, cuda or cuda:N, got '{Device}'.");
        }

        return this;
    }
}
