using System.CommandLine;
using System.Text.Json;
using EmMask.Cli.Console;
using EmMask.Cli.Services;
using EmMask.Core.Evaluation;
using EmMask.IO;

namespace EmMask.Cli.Commands;

/// <summary><c>emmask eval PRED GT</c>: overlap scores of a mask against a reference.</summary>
public static class EvalCommand
{
    private static readonly Argument<string> Prediction = new("prediction") { Description = "Predicted mask (default dataset /mask)." };
    private static readonly Argument<string> Truth = new("truth") { Description = "Reference mask (default dataset /gt)." };

    /// <summary>Builds the command.</summary>
    public static Command Build()
    {
        var json = GlobalOptions.Json();
        var command = new Command("eval", "Print Dice, IoU, precision and recall of a mask against a reference.") { Prediction, Truth, json };
        command.SetAction((parse, ct) =>
        {
            var reporter = new SpectreReporter(parse.GetValue(GlobalOptions.Quiet));
            return Task.FromResult(CliErrors.Run(reporter, () =>
            {
                var p = VolumePath.Parse(parse.GetValue(Prediction)!, "/mask");
                var t = VolumePath.Parse(parse.GetValue(Truth)!, "/gt");
                var metrics = MaskMetrics.Compute(MaskVolumes.ToMask(VolumeReader.Read(p, ct), p.ToString()), MaskVolumes.ToMask(VolumeReader.Read(t, ct), t.ToString()));
                if (parse.GetValue(json))
                {
                    reporter.Json(JsonSerializer.Serialize(new { dice = metrics.Dice, iou = metrics.IoU, precision = metrics.Precision, recall = metrics.Recall, specificity = metrics.Specificity, tp = metrics.TruePositives, fp = metrics.FalsePositives, fn = metrics.FalseNegatives, tn = metrics.TrueNegatives }));
                }
                else
                {
                    System.Console.Out.WriteLine($"dice {metrics.Dice:F4}  iou {metrics.IoU:F4}  precision {metrics.Precision:F4}  recall {metrics.Recall:F4}");
                }

                return ExitCodes.Ok;
            }));
        });
        return command;
    }
}
