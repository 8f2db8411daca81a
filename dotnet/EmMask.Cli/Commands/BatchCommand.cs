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
/// TIFF, npy; a single image as PNG), with the same options for all. A volume that fails (unreadable, an existing
/// output without <c>--force</c>) is reported and the others go on; the exit code is then the first failure's.
/// </summary>
public static class BatchCommand
{
    private static readonly Argument<string[]> Inputs = new("inputs") { Arity = ArgumentArity.OneOrMore, Description = "Input volumes (as for mask: file.h5[:/dataset], file.tif, file.npy, or one section as .png, .jpg or .bmp)." };
    private static readonly Option<string> OutDir = new("--out-dir", "-o") { Required = true, Description = "Folder for the masks (created if missing): NAME_mask with the input's format." };
    private static readonly Option<string> Suffix = new("--suffix") { Description = "Appended to each input's name.", DefaultValueFactory = _ => "_mask" };

    /// <summary>Builds the command.</summary>
    public static Command Build()
    {
        var force = GlobalOptions.Force();
        var json = GlobalOptions.Json();
        var command = new Command("batch", "Mask many volumes in one run, each to OUT-DIR/NAME_mask in its own format; one that fails does not stop the others.")
        {
            Inputs, OutDir, Suffix, force, json,
        };
        MaskCommand.AddRunOptions(command);
        command.SetAction((parse, ct) =>
        {
            var reporter = new SpectreReporter(parse.GetValue(GlobalOptions.Quiet));
            var inputs = parse.GetValue(Inputs)!;
            var outputs = new string[inputs.Length];
            MaskRequest? template = null;
            int planned = CliErrors.Run(reporter, () =>
            {
                for (int i = 0; i < inputs.Length; i++)
                {
                    outputs[i] = OutputFor(inputs[i], parse.GetValue(OutDir)!, parse.GetValue(Suffix)!);
                }

                // The options once, for all inputs: a bad value fails here, before anything is read or written.
                template = MaskCommand.ToRequest(parse, inputs[0], outputs[0], parse.GetValue(force));
                template.Classical.Validate();

                var clash = outputs.GroupBy(o => Path.GetFullPath(VolumePath.Parse(o, "/mask").File)).FirstOrDefault(g => g.Count() > 1);
                return clash is null ? ExitCodes.Ok
                    : throw new ArgumentException($"two inputs would write {clash.Key}: give them different names (or batch them separately). Nothing was written.");
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
                        outcome = service.Run(template! with { Input = VolumePath.Parse(inputs[i], "/raw"), Output = VolumePath.Parse(outputs[i], "/mask") }, ct);
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
            VolumeFileKind.Image => Path.Combine(folder, name + ".png"),
            VolumeFileKind.Sequence => throw new ArgumentException($"{input}: a stack of section files; mask it with emmask mask IN 'masks/m_*.png'."),
            _ => Path.Combine(folder, name + Path.GetExtension(path.File)),
        };
    }
}
