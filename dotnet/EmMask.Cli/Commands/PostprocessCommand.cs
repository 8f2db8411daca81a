using System.CommandLine;
using EmMask.Cli.Console;
using EmMask.Cli.Services;
using EmMask.Core.Volumes;
using EmMask.IO;

namespace EmMask.Cli.Commands;

/// <summary><c>emmask postprocess IN OUT [ops…]</c>: clean up an existing mask.</summary>
public static class PostprocessCommand
{
    private static readonly Argument<string> Input = new("input") { Description = "Mask to clean: file.h5[:/dataset] (default /mask), .tif, .npy or .png." };
    private static readonly Argument<string> Output = new("output") { Description = "Where to write the cleaned mask (default dataset /mask)." };
    private static readonly Argument<string[]> Ops = new("ops")
    {
        Description = "Operations in order: open2d:R open3d:R close2d:R close3d:R largest[:N[:6|18|26]] fill3d fill2d grow:D erode:D minsize:N[:C], or one preset name.",
        Arity = ArgumentArity.ZeroOrMore,
    };

    private static readonly Option<string?> Preset = new("--preset") { Description = "A named preset (clean, reference, none, ...) instead of ops." };

    /// <summary>Builds the command.</summary>
    public static Command Build()
    {
        var force = GlobalOptions.Force();
        var command = new Command("postprocess", "Apply morphological clean-up to a mask (opening, largest component, hole filling, grow/erode, small regions).")
        {
            Input, Output, Ops, Preset, force,
        };
        command.SetAction((parse, ct) =>
        {
            var reporter = new SpectreReporter(parse.GetValue(GlobalOptions.Quiet));
            return Task.FromResult(CliErrors.Run(reporter, () =>
            {
                var ops = parse.GetValue(Ops) ?? [];
                string? preset = parse.GetValue(Preset);
                if (preset is not null && ops.Length > 0)
                {
                    throw new ArgumentException("Give either ops or --preset, not both.");
                }

                var pipeline = PostProcessSpec.Resolve(preset ?? (ops.Length == 0 ? "clean" : string.Join(',', ops)));
                var input = VolumePath.Parse(parse.GetValue(Input)!, "/mask");
                var output = VolumePath.Parse(parse.GetValue(Output)!, "/mask");
                OutputGuard.Check(output, parse.GetValue(force));
                var mask = MaskVolumes.ToMask(VolumeReader.Read(input, ct), input.ToString());
                reporter.Run("post-process", progress =>
                {
                    pipeline.Apply(mask, progress, ct);
                    return 0;
                });
                var attributes = new Dictionary<string, string> { ["postprocess"] = pipeline.ToSpec(), ["source"] = input.ToString(), ["version"] = ToolVersion.Text };
                var write = new VolumeWriteOptions { Force = parse.GetValue(force), Attributes = attributes, SingleSliceRank = VolumeReader.ReadRank(input), StoredDimensions = VolumeReader.ReadStoredDimensions(input) };
                VolumeWriter.Write(output, mask, write, ct);
                if (OutputGuard.LeftoverWarning(output, mask.Shape.Z) is { } leftover)
                {
                    reporter.Warn(leftover);
                }

                reporter.Info($"wrote {output} ({pipeline.ToSpec()})");
                return ExitCodes.Ok;
            }));
        });
        return command;
    }
}
