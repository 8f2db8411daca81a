using System.CommandLine;
using System.Text.Json;
using EmMask.Cli.Console;
using EmMask.Cli.Services;
using EmMask.IO;
using EmMask.Learning.Inference;

namespace EmMask.Cli.Commands;

/// <summary>
/// <c>emmask batch IN... --out-dir DIR</c>: the mask command over many volumes in one process (one start-up, one model
/// load), as ilastik's headless batch mode. Each input gets <c>DIR/NAME_mask</c> in its own format (HDF5 <c>:/mask</c>,
/// TIFF, npy; a single image as PNG), with the same options for all, and with <c>--confidence-suffix</c> its confidence map
/// beside it (<see cref="ConfidenceFor"/>). A volume that fails (unreadable, an existing
/// output without <c>--force</c>) is reported and the others go on; the exit code is then the first failure's.
/// </summary>
public static class BatchCommand
{
    private static readonly Argument<string[]> Inputs = new("inputs") { Arity = ArgumentArity.OneOrMore, Description = "Input volumes (as for mask: file.h5[:/dataset], file.tif, file.npy, file.mrc, or one section as .png, .jpg or .bmp)." };
    private static readonly Option<string> OutDir = new("--out-dir", "-o") { Required = true, Description = "Folder for the masks (created if missing): NAME_mask with the input's format." };
    private static readonly Option<string> Suffix = new("--suffix") { Description = "Appended to each input's name.", DefaultValueFactory = _ => "_mask" };
    private static readonly Option<string?> ConfidenceSuffix = new("--confidence-suffix") { Description = "Also write each input's float32 confidence map (0..1) to OUT-DIR/NAME plus this (e.g. _confidence): HDF5 as :/confidence, a single image as .tif, else the input's format." };

    /// <summary>Builds the command.</summary>
    public static Command Build()
    {
        var force = GlobalOptions.Force();
        var json = GlobalOptions.Json();
        var command = new Command("batch", "Mask many volumes in one run, each to OUT-DIR/NAME_mask in its own format; one that fails does not stop the others.")
        {
            Inputs, OutDir, Suffix, ConfidenceSuffix, force, json,
        };
        MaskCommand.AddRunOptions(command);
        command.SetAction((parse, ct) =>
        {
            var reporter = new SpectreReporter(parse.GetValue(GlobalOptions.Quiet));
            var inputs = parse.GetValue(Inputs)!;
            var outputs = new string[inputs.Length];
            var confidences = new string?[inputs.Length];
            string? confidenceSuffix = parse.GetValue(ConfidenceSuffix);
            MaskRequest? template = null;
            int planned = CliErrors.Run(reporter, () =>
            {
                for (int i = 0; i < inputs.Length; i++)
                {
                    outputs[i] = OutputFor(inputs[i], parse.GetValue(OutDir)!, parse.GetValue(Suffix)!);
                    confidences[i] = confidenceSuffix is null ? null : ConfidenceFor(inputs[i], parse.GetValue(OutDir)!, confidenceSuffix);
                }

                // The options once, for all inputs: a bad value fails here, before anything is read or written.
                template = MaskCommand.ToRequest(parse, inputs[0], outputs[0], parse.GetValue(force));
                template.Classical.Validate();

                var clash = outputs.GroupBy(o => Path.GetFullPath(VolumePath.Parse(o, "/mask").File)).FirstOrDefault(g => g.Count() > 1);
                if (clash is not null)
                {
                    throw new ArgumentException($"two inputs would write {clash.Key}: give them different names (or batch them separately). Nothing was written.");
                }

                // A confidence map may share only its own mask's HDF5 file (as another dataset), never another output's file.
                var targets = outputs.Select((o, i) => (Path: VolumePath.Parse(o, "/mask"), Owner: i))
                    .Concat(confidences.Select((c, i) => (Path: c, Owner: i)).Where(t => t.Path is not null).Select(t => (Path: VolumePath.Parse(t.Path!, "/confidence"), t.Owner)))
                    .Select(t => (File: Path.GetFullPath(t.Path.File), t.Path.Kind, t.Path.Dataset, t.Owner));
                var shared = targets.GroupBy(t => t.File).FirstOrDefault(g => g.Count() > 1
                    && (g.Select(t => t.Owner).Distinct().Count() > 1 || g.First().Kind != VolumeFileKind.Hdf5 || g.Select(t => t.Dataset).Distinct().Count() < g.Count()));
                return shared is null ? ExitCodes.Ok
                    : throw new ArgumentException($"two outputs would be {shared.Key}: give --suffix and --confidence-suffix different values (or the inputs different names). Nothing was written.");
            });
            if (planned != ExitCodes.Ok)
            {
                return Task.FromResult(planned);
            }

            Directory.CreateDirectory(parse.GetValue(OutDir)!);
            var results = new List<object>();
            int first = ExitCodes.Ok, failed = 0;
            using var predictors = new PredictorProvider(); // one model load for all inputs
            var service = new MaskingService(reporter, predictors);
            for (int i = 0; i < inputs.Length; i++)
            {
                ct.ThrowIfCancellationRequested();
                reporter.Info($"[{i + 1}/{inputs.Length}] {inputs[i]} -> {outputs[i]}");
                MaskOutcome? outcome = null;
                string? error = null;
                int code = CliErrors.Run(reporter, () =>
                {
                    try
                    {
                        outcome = service.Run(template! with
                        {
                            Input = VolumePath.Parse(inputs[i], "/raw"),
                            Output = VolumePath.Parse(outputs[i], "/mask"),
                            ConfidenceOutput = confidences[i] is { } c ? VolumePath.Parse(c, "/confidence") : null,
                        }, ct);
                        reporter.Info($"wrote {outcome.Output}: tissue {outcome.TissueFraction:P1}, threshold {outcome.Threshold:g3}, compute {outcome.ComputeSeconds:F2} s");
                        return ExitCodes.Ok;
                    }
                    catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
                    {
                        error = CliErrors.Describe(e);
                        throw;
                    }
                });
                if (code == ExitCodes.Cancelled)
                {
                    return Task.FromResult(code);
                }

                if (code != ExitCodes.Ok)
                {
                    failed++;
                    first = first == ExitCodes.Ok ? code : first;
                }

                results.Add(outcome is not null ? outcome : new { Input = inputs[i], Output = outputs[i], Error = error, ExitCode = code });
            }

            reporter.Info($"batch: {inputs.Length - failed} of {inputs.Length} masked{(failed > 0 ? $", {failed} failed (see above)" : string.Empty)}");
            if (parse.GetValue(json))
            {
                reporter.Json(JsonSerializer.Serialize(results));
            }

            return Task.FromResult(first);
        });
        return command;
    }

    /// <summary>DIR/NAME{suffix} in the input's format: HDF5 as :/mask, a single image as PNG; a section sequence is refused.</summary>
    internal static string OutputFor(string input, string folder, string suffix)
    {
        var path = VolumePath.Parse(input, "/raw");
        string name = Path.GetFileNameWithoutExtension(path.File) + suffix;
        return path.Kind switch
        {
            VolumeFileKind.Hdf5 => Path.Combine(folder, name + Path.GetExtension(path.File)) + ":/mask",
            VolumeFileKind.Zarr or VolumeFileKind.N5 => Path.Combine(folder, ZarrName(path.File) + suffix + ".zarr"), // N5 is read, not written
            VolumeFileKind.Image => Path.Combine(folder, name + ".png"),
            VolumeFileKind.Sequence => throw new ArgumentException($"{input}: a stack of section files; mask it with emmask mask IN 'masks/m_*.png'."),
            _ => Path.Combine(folder, name + Path.GetExtension(path.File)),
        };
    }

    // A chunked array's name: data.zarr → data; an OME-Zarr level image.ome.zarr/0 → image_0; an N5 dataset c.n5/raw → c_raw.
    private static string ZarrName(string array)
    {
        string trimmed = Path.TrimEndingDirectorySeparator(array);
        static string Stem(string name) => name.EndsWith(".ome.zarr", StringComparison.OrdinalIgnoreCase) ? name[..^9]
            : name.EndsWith(".zarr", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".n5", StringComparison.OrdinalIgnoreCase) ? Path.GetFileNameWithoutExtension(name) : name;
        string leaf = Path.GetFileName(trimmed);
        return Stem(leaf) != leaf || Path.GetDirectoryName(trimmed) is not { } parent
            ? Stem(leaf)
            : $"{Stem(Path.GetFileName(parent))}_{leaf}";
    }

    /// <summary>
    /// DIR/NAME{suffix} for the confidence map: HDF5 as :/confidence (with the mask's suffix, a dataset beside the mask in
    /// its file), a single image as float32 TIFF (PNG holds no floats), else the input's format.
    /// </summary>
    internal static string ConfidenceFor(string input, string folder, string suffix)
    {
        var path = VolumePath.Parse(input, "/raw");
        string output = OutputFor(input, folder, suffix);
        return path.Kind switch
        {
            VolumeFileKind.Hdf5 => VolumePath.Parse(output, "/mask").File + ":/confidence",
            VolumeFileKind.Image => Path.ChangeExtension(output, ".tif"),
            _ => output,
        };
    }
}
