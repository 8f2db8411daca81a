using System.CommandLine;
using EmMask.Cli.Console;
using EmMask.Core.Phantom;
using EmMask.Core.Volumes;
using EmMask.IO;

namespace EmMask.Cli.Commands;

/// <summary><c>emmask phantom OUT.h5</c>: a synthetic EM volume with ground truth.</summary>
public static class PhantomCommand
{
    private static readonly Argument<string> Output = new("output") { Description = "HDF5 file to create; gets /raw (uint8) and /gt (uint8, 1 = brain)." };
    private static readonly Option<int> Seed = new("--seed") { Description = "Random seed (shapes, tissue fraction, artefacts all follow it).", DefaultValueFactory = _ => 0 };
    private static readonly Option<int[]> ShapeOption = new("--shape") { Description = "Z Y X size in voxels.", Arity = new ArgumentArity(3, 3), AllowMultipleArgumentsPerToken = true };
    private static readonly Option<bool> Invert = new("--invert") { Description = "Inverted contrast (membranes bright, resin dark)." };
    private static readonly Option<double?> Tissue = new("--tissue-fraction") { Description = "Target tissue fraction 0..1 (default: varies with the seed)." };
    private static readonly Option<bool> NoArtefacts = new("--no-artefacts") { Description = "No curtaining, chatter, drift, blur or noise." };
    private static readonly Option<bool> Tracheae = new("--tracheae") { Description = "Also write /tracheae (uint8, 1 = trachea lumen or wall inside the tissue): the non-brain inside tissue, for `emmask train --focus /tracheae`." };

    /// <summary>Builds the command.</summary>
    public static Command Build()
    {
        var force = GlobalOptions.Force();
        var command = new Command("phantom", "Write a synthetic larval-CNS FIB-SEM phantom with ground truth.") { Output, Seed, ShapeOption, Invert, Tissue, NoArtefacts, Tracheae, force };
        command.SetAction((parse, ct) =>
        {
            var reporter = new SpectreReporter(parse.GetValue(GlobalOptions.Quiet));
            return Task.FromResult(CliErrors.Run(reporter, () =>
            {
                var shape = parse.GetValue(ShapeOption) is { Length: 3 } s ? new Shape3(s[0], s[1], s[2]) : new PhantomOptions().Shape;
                var options = new PhantomOptions
                {
                    Seed = parse.GetValue(Seed),
                    Shape = shape,
                    Invert = parse.GetValue(Invert),
                    TissueFraction = parse.GetValue(Tissue),
                    Artefacts = !parse.GetValue(NoArtefacts),
                };
                options.Validate();
                var path = VolumePath.Parse(parse.GetValue(Output)!, "/raw");
                if (path.Kind != VolumeFileKind.Hdf5)
                {
                    throw new ArgumentException("The phantom is written to an HDF5 file (.h5) with /raw and /gt.");
                }

                if (File.Exists(path.File) && !parse.GetValue(force))
                {
                    throw new OutputExistsException(path.File);
                }

                var (phantom, layers) = reporter.Run("phantom", _ => EmPhantom.GenerateWithLayers(options, ct));
                var attributes = new Dictionary<string, string>
                {
                    ["seed"] = options.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["invert"] = options.Invert ? "true" : "false",
                    ["version"] = Services.ToolVersion.Text,
                };
                var datasets = new List<(string Dataset, IVolume Volume, IReadOnlyDictionary<string, string>? Attributes)> { ("/raw", phantom.Raw, attributes), ("/gt", phantom.Truth, attributes) };
                if (parse.GetValue(Tracheae))
                {
                    datasets.Add(("/tracheae", new Volume<byte>(phantom.Raw.Shape, layers.TracheaeInTissue(), phantom.Raw.VoxelSize), attributes));
                }

                VolumeWriter.WriteMany(path.File, datasets, new VolumeWriteOptions { Force = parse.GetValue(force) });
                reporter.Info($"wrote {path.File}:{string.Join(", ", datasets.Select(d => d.Dataset))}, shape {phantom.Raw.Shape}");
                return ExitCodes.Ok;
            }));
        });
        return command;
    }
}
