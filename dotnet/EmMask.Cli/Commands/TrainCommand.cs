using System.CommandLine;
using EmMask.Cli.Console;
using EmMask.Cli.Services;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;
using EmMask.IO;
using EmMask.Learning.Models;
using EmMask.Learning.Training;

namespace EmMask.Cli.Commands;

/// <summary>
/// <c>emmask train</c>: trains (or, with <c>--init</c>, fine-tunes) the U-Net on HDF5 volumes with brain/non-brain labels.
/// </summary>
public static class TrainCommand
{
    private static readonly Option<string[]> Data = new("--data") { Description = "Training HDF5 file(s) holding raw and labels (repeat the option).", AllowMultipleArgumentsPerToken = true };
    private static readonly Option<string[]> DefaultAugmentData = new("--default-augment-data") { Description = "More training HDF5 file(s), augmented with the default preset whatever --augment says (e.g. phantoms in a real-em run; repeat the option).", AllowMultipleArgumentsPerToken = true };
    private static readonly Option<string[]> Validation = new("--val") { Description = "Held-out HDF5 file(s) for validation Dice; the best checkpoint is kept by it.", AllowMultipleArgumentsPerToken = true };
    private static readonly Option<string> Raw = new("--raw") { Description = "Raw dataset in each file.", DefaultValueFactory = _ => "/raw" };
    private static readonly Option<string> Labels = new("--labels") { Description = "Label dataset in each file (nonzero = brain).", DefaultValueFactory = _ => "/gt" };
    private static readonly Option<string?> Region = new("--region") { Description = "Optional dataset marking the labelled region (nonzero = labelled); loss only there (fine-tuning from sparse corrections)." };
    private static readonly Option<string> Out = new("--out") { Description = "Output folder: best.safetensors, last.safetensors, training_log.json.", Required = true };
    private static readonly Option<int> Steps = new("--steps") { Description = "Optimiser steps.", DefaultValueFactory = _ => 1000 };
    private static readonly Option<int> Patch = new("--patch") { Description = "Patch edge in voxels (a multiple of 16).", DefaultValueFactory = _ => 64 };
    private static readonly Option<int> Batch = new("--batch") { Description = "Patches per step.", DefaultValueFactory = _ => 2 };
    private static readonly Option<long> Seed = new("--seed") { Description = "Random seed (runs are deterministic for a seed, thread count and libtorch build).", DefaultValueFactory = _ => 0 };
    private static readonly Option<double> LearningRate = new("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => 1e-4 };
    private static readonly Option<int> ValidateEvery = new("--validate-every") { Description = "Validate (and checkpoint) every K steps.", DefaultValueFactory = _ => 100 };
    private static readonly Option<string?> Init = new("--init") { Description = "Start from this checkpoint (fine-tuning)." };
    private static readonly Option<bool> Resume = new("--resume") { Description = "Continue an interrupted run in --out." };
    private static readonly Option<int?> Threads = new("--threads") { Description = "Torch CPU threads (default: all cores)." };
    private static readonly Option<int> ScaleCopies = new("--scale-copies") { Description = "Also train on each --data volume averaged over F³ blocks (labels by majority), so the model also works at mask --scale F. 1 = off.", DefaultValueFactory = _ => 1 };
    private static readonly Option<string?> Focus = new("--focus") { Description = "Optional dataset marking hard structures (nonzero = focus), e.g. tracheae inside the tissue: extra patch centres there." };
    private static readonly Option<string> Device = new("--device") { Description = "Where to train: auto (CUDA when libtorch sees a GPU, else CPU), cpu or cuda (an error without a CUDA build of libtorch and a GPU).", DefaultValueFactory = _ => "cpu" };
    private static readonly Option<string> Augment = new("--augment") { Description = "Augmentation preset: default (flips, rotations, intensity, blur, noise, inversion: the v1 model's), real-em (also thick, shifted and missing sections, JPEG blocks, tile seams, zoom and 2-D patches: the v2 model's), real-em-curtains (real-em plus FIB-SEM curtaining) or none.", DefaultValueFactory = _ => "default" };
    private static readonly Option<double> FocusWeight = new("--focus-weight") { Description = "How often patch centres come from --focus, relative to each of tissue, resin, boundary and near-tissue (1 each).", DefaultValueFactory = _ => 1.0 };

    /// <summary>Builds the command.</summary>
    public static Command Build()
    {
        var command = new Command("train", "Train or fine-tune the 3D U-Net on labelled volumes (DiceCE, Adam, balanced patches, augmentation).")
        {
            Data, DefaultAugmentData, Validation, Raw, Labels, Region, Out, Steps, Patch, Batch, Seed, LearningRate, ValidateEvery, Init, Resume, Threads,
            ScaleCopies, Focus, FocusWeight, Device, Augment,
        };
        command.SetAction((parse, ct) =>
        {
            var reporter = new SpectreReporter(parse.GetValue(GlobalOptions.Quiet));
            return Task.FromResult(CliErrors.Run(reporter, () =>
            {
                string raw = parse.GetValue(Raw)!, labels = parse.GetValue(Labels)!;
                string? region = parse.GetValue(Region), focus = parse.GetValue(Focus);
                int scale = parse.GetValue(ScaleCopies);
                if (scale < 1)
                {
                    throw new ArgumentOutOfRangeException("--scale-copies", scale, "--scale-copies must be at least 1 (1 = off).");
                }

                // Device and preset first: a missing GPU or a typo should not wait for the data to load.
                string device = parse.GetValue(Device)!;
                ModelStore.ResolveDevice(device);
                var augmentation = AugmentationOptions.FromName(parse.GetValue(Augment)!, "--augment");
                if ((parse.GetValue(Data) ?? []).Length + (parse.GetValue(DefaultAugmentData) ?? []).Length == 0)
                {
                    throw new ArgumentException("Give at least one training file with --data or --default-augment-data.", "--data");
                }

                var volumes = (parse.GetValue(Data) ?? []).Select(f => Load(f, raw, labels, region, ct, focus))
                    .Concat((parse.GetValue(DefaultAugmentData) ?? []).Select(f => Load(f, raw, labels, region, ct, focus) with { Augmentation = AugmentationOptions.Default }))
                    .ToList();
                if (scale > 1)
                {
                    volumes.AddRange(volumes.Select(v => v.Downsampled(scale)).ToList());
                }

                reporter.Info($"training on {volumes.Count} volumes{(scale > 1 ? $" (each also at scale {scale})" : "")}");
                var options = new TrainingOptions
                {
                    Volumes = volumes,
                    FocusWeight = focus is null ? 0 : parse.GetValue(FocusWeight),
                    ValidationVolumes = (parse.GetValue(Validation) ?? []).Select(f => Load(f, raw, labels, null, ct)).ToArray(),
                    OutputDirectory = parse.GetValue(Out)!,
                    Patch = new Shape3(parse.GetValue(Patch), parse.GetValue(Patch), parse.GetValue(Patch)),
                    BatchSize = parse.GetValue(Batch),
                    Steps = parse.GetValue(Steps),
                    LearningRate = parse.GetValue(LearningRate),
                    Seed = parse.GetValue(Seed),
                    ValidateEvery = parse.GetValue(ValidateEvery),
                    Resume = parse.GetValue(Resume),
                    InitialCheckpoint = parse.GetValue(Init),
                    Threads = parse.GetValue(Threads),
                    Device = device,
                    Augmentation = augmentation,
                };
                options.Validate();
                var result = reporter.Run("train", progress => UNetTrainer.Train(options, new TrainingReporter(progress, reporter), ct));
                System.Console.Out.WriteLine($"trained {result.Steps} steps in {result.Elapsed.TotalMinutes:F1} min; best validation dice {result.BestValidationDice:F4} at step {result.BestStep}");
                System.Console.Out.WriteLine($"best  {result.BestModelPath}");
                System.Console.Out.WriteLine($"last  {result.LastModelPath}");
                System.Console.Out.WriteLine($"log   {result.LogPath}");
                return ExitCodes.Ok;
            }));
        });
        return command;
    }

    private static TrainingVolume Load(string file, string raw, string labels, string? region, CancellationToken ct, string? focus = null)
    {
        var image = VolumeReader.Read(new VolumePath(file, raw), ct);
        var truth = MaskVolumes.ToMask(VolumeReader.Read(new VolumePath(file, labels), ct), $"{file}:{labels}");
        var labelled = region is null ? null : MaskVolumes.ToMask(VolumeReader.Read(new VolumePath(file, region), ct), $"{file}:{region}");
        var focused = focus is null ? null : MaskVolumes.ToMask(VolumeReader.Read(new VolumePath(file, focus), ct), $"{file}:{focus}");
        return TrainingVolume.FromRaw(image, truth, labelled, Path.GetFileNameWithoutExtension(file)) with { Focus = focused };
    }

    // Steps/s, loss and validation Dice into the progress bar, and a line per validation.
    private sealed class TrainingReporter(IProgress<ProgressReport> progress, IReporter reporter) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            progress.Report(new ProgressReport($"step {value.Step}/{value.TotalSteps} loss {value.Loss:F3} {value.StepsPerSecond:F2} steps/s", value.Fraction));
            if (value.ValidationDice is { } dice)
            {
                reporter.Info($"step {value.Step}: loss {value.Loss:F4}, validation dice {dice:F4} (best {value.BestValidationDice:F4}), {value.StepsPerSecond:F2} steps/s");
            }
        }
    }
}
