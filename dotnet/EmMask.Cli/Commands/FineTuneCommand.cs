using System.CommandLine;
using System.Text.Json.Nodes;
using EmMask.Cli.Console;
using EmMask.Cli.Services;
using EmMask.Core.Inference;
using EmMask.Core.Options;
using EmMask.IO;
using EmMask.Learning.Training;

namespace EmMask.Cli.Commands;

/// <summary>
/// <c>emmask finetune IMAGE MASK OUT --sections 20,21</c>: fine-tune the U-Net on the sections of a mask a proofreader
/// corrected (<see cref="ProofreadFineTuning"/>, as the worker runs it for Python and napari), and write the model.
/// </summary>
public static class FineTuneCommand
{
    private static readonly SchemaOptions Schema = new(OptionsSchema.Describe(FineTuneOptions.Default));
    private static readonly Argument<string> Image = new("image") { Description = "The image (default dataset /raw); its voxel size sets the working scale." };
    private static readonly Argument<string> Mask = new("mask") { Description = "The proofread mask (default dataset /mask): non-zero = tissue; uint8 255 = not checked." };
    private static readonly Argument<string> Out = new("out") { Description = "The model file to write (.safetensors); replaced only when training has finished." };
    private static readonly Option<string> Sections = new("--sections") { Description = "The z indices you corrected, e.g. '20,21' or '10-12' (0-based), or 'all'. Only these count.", Required = true };

    /// <summary>Builds the command.</summary>
    public static Command Build()
    {
        var command = new Command("finetune", "Fine-tune the U-Net on the sections of a mask you corrected, then mask with --model OUT.") { Image, Mask, Out, Sections };
        foreach (var option in Schema.All)
        {
            command.Options.Add(option);
        }

        command.SetAction((parse, ct) =>
        {
            var reporter = new SpectreReporter(parse.GetValue(GlobalOptions.Quiet));
            return Task.FromResult(CliErrors.Run(reporter, () =>
            {
                var options = FineTuneOptions.FromJson(Schema.Apply(parse, JsonNode.Parse(FineTuneOptions.Default.ToJson())!.AsObject()).ToJsonString());
                var i = VolumePath.Parse(parse.GetValue(Image)!, "/raw");
                var m = VolumePath.Parse(parse.GetValue(Mask)!, "/mask");
                var image = VolumeReader.Read(i, ct);
                var proofread = VolumeReader.Read(m, ct);
                if (proofread.Shape != image.Shape)
                {
                    throw new ArgumentException($"The mask {m} has shape {proofread.Shape}, the image {i} {image.Shape}.");
                }

                var labels = Labels(proofread, m.ToString(), ParseSections(parse.GetValue(Sections)!, image.Shape.Z));
                var result = reporter.Run("fine-tune", progress => ProofreadFineTuning.Run(image, labels, parse.GetValue(Out)!, options, progress, ct));
                System.Console.Out.WriteLine($"fine-tuned {result.Steps} steps at working scale {result.Scale} on {result.ProofreadVoxels} proofread voxels in {result.Elapsed.TotalSeconds:F0} s");
                System.Console.Out.WriteLine($"model {result.ModelPath}");
                System.Console.Out.WriteLine($"log   {result.LogPath}");
                return ExitCodes.Ok;
            }));
        });
        return command;
    }

    /// <summary>"all" (null), or comma-separated indices and ranges, each within 0..depth-1.</summary>
    internal static IReadOnlySet<int>? ParseSections(string text, int depth)
    {
        if (text.Trim().Equals("all", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var sections = new SortedSet<int>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] ends = part.Split('-', 2, StringSplitOptions.TrimEntries);
            if (!int.TryParse(ends[0], out int first) || !int.TryParse(ends[^1], out int last) || first > last || first < 0 || last >= depth)
            {
                throw new ArgumentException($"--sections: '{part}' is not a section or range within 0..{depth - 1}.");
            }

            for (int z = first; z <= last; z++)
            {
                sections.Add(z);
            }
        }

        return sections.Count > 0 ? sections : throw new ArgumentException("--sections names no section.");
    }

    // 0/1 where the named sections hold a checked voxel, 255 elsewhere.
    private static Core.Volumes.Volume<byte> Labels(Core.Volumes.IVolume proofread, string name, IReadOnlySet<int>? sections)
    {
        var mask = MaskVolumes.ToMask(proofread, name);
        var region = MaskVolumes.LabelledRegion(proofread);
        int plane = mask.Shape.Y * mask.Shape.X;
        var m = mask.Span;
        for (int i = 0; i < m.Length; i++)
        {
            bool counted = (sections is null || sections.Contains(i / plane)) && (region is null || region.Span[i] != 0);
            m[i] = counted ? m[i] : FineTuneOptions.NotProofread;
        }

        return mask;
    }
}
