using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using EmMask.Cli.Console;
using EmMask.Cli.Services;
using EmMask.Core.Evaluation;
using EmMask.Core.Masking;
using EmMask.Core.Phantom;
using EmMask.Core.PostProcessing;
using EmMask.Core.Volumes;
using EmMask.IO;

namespace EmMask.Cli.Commands;

/// <summary>
/// <c>emmask demo</c>: the main job on an embedded default. For both contrasts it makes a phantom, masks it with the
/// classical method, post-processes, scores against the ground truth and renders a montage.
/// </summary>
public static class DemoCommand
{
    private static readonly Option<string> Out = new("--out", "-o") { Description = "Folder for the demo's files (created; its demo files are replaced).", DefaultValueFactory = _ => "emmask-demo" };
    private static readonly Option<int> Seed = new("--seed") { Description = "Phantom seed.", DefaultValueFactory = _ => 3 };

    /// <summary>Builds the command.</summary>
    public static Command Build()
    {
        var command = new Command("demo", "Phantom -> classical mask -> post-process -> eval -> PNG montage, for normal and inverted contrast.") { Out, Seed };
        command.SetAction((parse, ct) =>
        {
            var reporter = new SpectreReporter(parse.GetValue(GlobalOptions.Quiet));
            return Task.FromResult(CliErrors.Run(reporter, () => Run(parse.GetValue(Out)!, parse.GetValue(Seed), reporter, ct)));
        });
        return command;
    }

    private static int Run(string folder, int seed, IReporter reporter, CancellationToken ct)
    {
        Directory.CreateDirectory(folder);
        var pipeline = PostProcessPresets.Get("clean");
        var summary = new List<object>();
        foreach (bool invert in new[] { false, true })
        {
            string name = invert ? "inverted" : "normal";
            var options = new PhantomOptions { Seed = seed, Invert = invert };
            var phantom = reporter.Run($"phantom ({name} contrast)", _ => EmPhantom.Generate(options, ct));
            string phantomFile = Path.Combine(folder, $"phantom-{name}.h5");
            VolumeWriter.WriteMany(phantomFile, [("/raw", phantom.Raw, null), ("/gt", phantom.Truth, null)], new VolumeWriteOptions { Force = true });

            var clock = Stopwatch.StartNew();
            var result = reporter.Run($"classical mask ({name})", progress => ClassicalMasker.Run(phantom.Raw, ClassicalMaskOptions.Default, progress, ct));
            double maskSeconds = clock.Elapsed.TotalSeconds;
            var raw = MaskMetrics.Compute(result.Mask, phantom.Truth);
            clock.Restart();
            reporter.Run($"post-process ({name})", progress =>
            {
                pipeline.Apply(result.Mask, progress, ct);
                return 0;
            });
            double postSeconds = clock.Elapsed.TotalSeconds;
            var cleaned = MaskMetrics.Compute(result.Mask, phantom.Truth);

            string maskFile = Path.Combine(folder, $"mask-{name}.h5");
            var attributes = new Dictionary<string, string> { ["method"] = "classical", ["version"] = ToolVersion.Text, ["parameters"] = JsonSerializer.Serialize(ClassicalMaskOptions.Default.ToParameters()), ["postprocess"] = pipeline.ToSpec() };
            VolumeWriter.WriteMany(maskFile, [("/mask", result.Mask, attributes), ("/confidence", result.Confidence, attributes)], new VolumeWriteOptions { Force = true });
            string png = Path.Combine(folder, $"montage-{name}.png");
            Montage.Write(png, phantom.Raw, result.Mask, phantom.Truth, result.Confidence);

            reporter.Info($"{name} contrast: {phantom.Raw.Shape} voxels, mask {maskSeconds:F2} s + post {postSeconds:F2} s");
            System.Console.Out.WriteLine($"{name,-9} dice {cleaned.Dice:F4}  iou {cleaned.IoU:F4}  precision {cleaned.Precision:F4}  recall {cleaned.Recall:F4}  (before post-processing: dice {raw.Dice:F4})");
            System.Console.Out.WriteLine($"          phantom  {phantomFile}:/raw /gt");
            System.Console.Out.WriteLine($"          mask     {maskFile}:/mask /confidence");
            System.Console.Out.WriteLine($"          montage  {png}");
            summary.Add(new { contrast = name, dice = cleaned.Dice, iou = cleaned.IoU, precision = cleaned.Precision, recall = cleaned.Recall, dice_before_postprocess = raw.Dice, mask_seconds = maskSeconds, postprocess_seconds = postSeconds, phantom = phantomFile, mask = maskFile, montage = png });
        }

        string metrics = Path.Combine(folder, "metrics.json");
        File.WriteAllText(metrics, JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));
        System.Console.Out.WriteLine($"metrics  {metrics}");
        return ExitCodes.Ok;
    }
}
