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
        var command = new Command("eval", "Print Dice, IoU, non-brain IoU, precision and recall of a mask against a reference (uint8 reference voxels of 255 are unlabelled and ignored).") { Prediction, Truth, json };
        command.SetAction((parse, ct) =>
        {
            var reporter = new SpectreReporter(parse.GetValue(GlobalOptions.Quiet));
            return Task.FromResult(CliErrors.Run(reporter, () =>
            {
                var p = VolumePath.Parse(parse.GetValue(Prediction)!, "/mask");
                var t = VolumePath.Parse(parse.GetValue(Truth)!, "/gt");
                var reference = VolumeReader.Read(t, ct);
                var region = MaskVolumes.LabelledRegion(reference);
                var truth = MaskVolumes.ToMask(reference, t.ToString());
                if (region is not null)
                {
                    var r = region.Span;
                    var m = truth.Span;
                    for (int i = 0; i < m.Length; i++)
                    {
                        m[i] = r[i] != 0 ? m[i] : (byte)0;
                    }
                }

                var predicted = MaskVolumes.ToMask(VolumeReader.Read(p, ct), p.ToString());
                var metrics = MaskMetrics.Compute(predicted, truth, region);
                var sections = predicted.Shape.Z > 1 ? MaskMetrics.PerSection(predicted, truth, region) : [];
                if (parse.GetValue(json))
                {
                    reporter.Json(JsonSerializer.Serialize(new
                    {
                        dice = metrics.Dice, iou = metrics.IoU, nonbrain_iou = metrics.NonBrainIoU, tissue_loss = metrics.TissueLoss, precision = metrics.Precision, recall = metrics.Recall,
                        specificity = metrics.Specificity, tp = metrics.TruePositives, fp = metrics.FalsePositives, fn = metrics.FalseNegatives, tn = metrics.TrueNegatives,
                        ignored = region is null ? 0 : region.Span.Length - region.Span.Count((byte)1),
                        sections = sections.Select((m, z) => new { z, nonbrain_iou = m.NonBrainIoU, tissue_loss = m.TissueLoss, dice = m.Dice }),
                    }));
                }
                else
                {
                    System.Console.Out.WriteLine($"dice {metrics.Dice:F4}  iou {metrics.IoU:F4}  non-brain iou {metrics.NonBrainIoU:F4}  precision {metrics.Precision:F4}  recall {metrics.Recall:F4}" + (region is null ? string.Empty : "  (255 = unlabelled, ignored)"));
                    if (sections.Length > 1)
                    {
                        System.Console.Out.WriteLine("worst sections: " + string.Join("; ", WorstSections(sections).Select(z =>
                            FormattableString.Invariant($"z={z} non-brain iou {sections[z].NonBrainIoU:F3}, tissue lost {100 * sections[z].TissueLoss:F1} %"))));
                    }
                }

                return ExitCodes.Ok;
            }));
        });
        return command;
    }

    /// <summary>Sections shown as the worst (the rest are in --json).</summary>
    private const int WorstShown = 5;

    // The sections whose worse score (non-brain IoU, or the share of tissue kept) is lowest, worst first; ties by z.
    private static IEnumerable<int> WorstSections(MaskMetrics[] sections) =>
        Enumerable.Range(0, sections.Length)
            .OrderBy(z => Math.Min(sections[z].NonBrainIoU, 1 - sections[z].TissueLoss))
            .ThenBy(z => z)
            .Take(WorstShown);
}
