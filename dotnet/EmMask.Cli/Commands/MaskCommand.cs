using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using EmMask.Cli.Console;
using EmMask.Cli.Services;
using EmMask.Core.Inference;
using EmMask.Core.Masking;
using EmMask.Core.Options;
using EmMask.Core.PostProcessing;
using EmMask.IO;

namespace EmMask.Cli.Commands;

/// <summary><c>emmask mask IN OUT</c>: brain/non-brain mask of a volume.</summary>
public static class MaskCommand
{
    private static readonly SchemaOptions Classical = new(OptionsSchema.Describe(ClassicalMaskOptions.Default));
    private static readonly SchemaOptions UNet = new(OptionsSchema.Describe(UNetMaskOptions.Default));
    private static readonly Argument<string> Input = new("input") { Description = "Input volume: file.h5[:/dataset] (default /raw), file.tif, file.npy, file.mrc (.rec, .st, .ali, .map), one section as .png, .jpg or .bmp, or a folder or pattern of section files ('s/*.tif')." };
    private static readonly Argument<string> Output = new("output") { Description = "Output mask (uint8, 1 = brain): file.h5[:/dataset] (default /mask), file.tif, file.npy, file.mrc, .png for one section, or one file per section ('masks/m_*.png')." };
    private static readonly Option<string> Method = new("--method", "-m") { Description = "classical (texture; no model) or unet (learned; separates tracheae).", DefaultValueFactory = _ => "classical" };
    private static readonly Option<string?> Confidence = new("--confidence") { Description = "Also write the float32 confidence map (0..1; the mask is where it is at least 0.5, before post-processing) here: file.h5[:/dataset] (default /confidence; another dataset of the mask's .h5 works), .tif, .npy or .mrc. Block-wise runs (--block, --resume, or a volume over --max-memory) stream it block by block as the mask, into one HDF5, TIFF, npy or MRC file (not one file per section), renamed into place together with the mask." };
    private static readonly Option<string?> PostProcess = new("--postprocess") { Description = "Post-processing preset (clean, reference, none, ...) or op list like 'open2d:3,largest,fill3d,grow:15' (default: clean for classical, none for unet)." };
    private static readonly Option<int?> Block = new("--block") { Description = "Mask block by block with cores of this edge (voxels; rounded up to the working level's tile). Without it a run whose in-memory need exceeds --max-memory goes block by block with the largest blocks the budget holds. Output (and --confidence) is streamed into one HDF5, TIFF, npy or MRC file, not a PNG or one file per section; --multiscale needs HDF5." };
    private static readonly Option<string?> MaxMemory = new("--max-memory") { Description = "Working-memory budget (e.g. 2G, 512M). A volume that needs more is masked block by block; default ¾ of available memory." };
    private static readonly Option<bool> Resume = new("--resume") { Description = "Continue an unfinished block-wise run of the same job (its finished blocks are kept beside the output)." };
    private static readonly Option<int> Multiscale = new("--multiscale") { Description = "Also write N coarser levels of the mask (HDF5: NAME_s1 2x, NAME_s2 4x, ...; max over each cell) so tools can skip all-zero blocks." };
    private static readonly Option<int?> Threads = new("--threads") { Description = "Filter threads (default: one per core)." };
    private static readonly Option<string?> Sections = new("--sections") { Description = "Mask only these sections (z from 0, e.g. 3,5-7), each as an image of its own. Into an existing mask of the input (and --confidence map): those sections are replaced, the others kept; else OUT holds them alone." };
    private static readonly Option<string?> Preset = new("--preset") { Description = "JSON file with parameters (snake_case keys); command-line options override it." };

    /// <summary>Builds the command.</summary>
    public static Command Build()
    {
        var force = GlobalOptions.Force();
        var json = GlobalOptions.Json();
        var command = new Command("mask", "Compute a brain (1) / non-brain (0) mask of an EM volume.")
        {
            Input, Output, Confidence, Sections, force, json,
        };
        AddRunOptions(command);

        command.SetAction((parse, ct) =>
        {
            var reporter = new SpectreReporter(parse.GetValue(GlobalOptions.Quiet));
            return Task.FromResult(CliErrors.Run(reporter, () =>
            {
                var request = ToRequest(parse, parse.GetValue(Input)!, parse.GetValue(Output)!, parse.GetValue(force)) with
                {
                    ConfidenceOutput = parse.GetValue(Confidence) is { } c ? VolumePath.Parse(c, "/confidence") : null,
                    Sections = parse.GetValue(Sections) is { } sections ? SectionList.Parse(sections) : null,
                };
                var outcome = new MaskingService(reporter).Run(request, ct);
                reporter.Info($"wrote {outcome.Output}: tissue {outcome.TissueFraction:P1}, threshold {outcome.Threshold:g3}, compute {outcome.ComputeSeconds:F2} s");
                if (parse.GetValue(json))
                {
                    reporter.Json(JsonSerializer.Serialize(outcome));
                }

                return ExitCodes.Ok;
            }));
        });
        return command;
    }

    /// <summary>The options of a masking run that <c>mask</c> and <c>batch</c> share: method, parameters, post-processing, preset, memory.</summary>
    internal static void AddRunOptions(Command command)
    {
        foreach (var option in new Option[] { Method, PostProcess, Preset, Block, MaxMemory, Resume, Threads, Multiscale }.Concat(Classical.All).Concat(UNet.All))
        {
            command.Options.Add(option);
        }
    }

    private static string? Given(ParseResult parse, Option<string> option) =>
        parse.GetResult(option) is { Implicit: false } ? parse.GetValue(option) : null;

    /// <summary>The request for one input and output from the shared options (<see cref="AddRunOptions"/>); no confidence map or sections.</summary>
    internal static MaskRequest ToRequest(ParseResult parse, string input, string output, bool force)
    {
        var options = ClassicalMaskOptions.Default;
        var unet = UNetMaskOptions.Default;
        string? post = null, presetMethod = null;
        if (parse.GetValue(Preset) is { } presetPath)
        {
            var preset = MaskPreset.Load(presetPath, options, unet);
            options = preset.Options;
            post = preset.PostProcess;
            presetMethod = preset.Method;
            unet = preset.UNet;
        }

        // Options given on the command line override the preset; those left out keep its values.
        string method = (Given(parse, Method) ?? presetMethod ?? parse.GetValue(Method)!).ToLowerInvariant();
        if (method is not ("classical" or "unet"))
        {
            throw new ArgumentException($"Unknown --method '{method}'; use 'classical' or 'unet'.");
        }

        options = ClassicalMaskOptions.FromJson(Classical.Apply(parse, JsonNode.Parse(options.ToJson())!.AsObject()).ToJsonString());
        // The U-Net's default is no post-processing (its holes are the tracheae it found), the classical masker's "clean".
        var pipeline = PostProcessSpec.Resolve(parse.GetValue(PostProcess) ?? post ?? (method == "unet" ? "none" : "clean"));
        unet = UNetMaskOptions.FromJson(UNet.Apply(parse, JsonNode.Parse(unet.ToJson())!.AsObject()).ToJsonString());
        return new MaskRequest(
            VolumePath.Parse(input, "/raw"), VolumePath.Parse(output, "/mask"), null,
            method, options, unet, pipeline, force, Blocks(parse), Levels(parse));
    }

    private static int Levels(ParseResult parse)
    {
        int levels = parse.GetValue(Multiscale);
        return levels is >= 0 and <= MultiscaleLevels.Maximum
            ? levels
            : throw new ArgumentException($"--multiscale {levels}: give 0 to {MultiscaleLevels.Maximum} levels.");
    }

    private static BlockRequest Blocks(ParseResult parse)
    {
        int? block = parse.GetValue(Block);
        if (block is < 1)
        {
            throw new ArgumentException($"--block {block} must be a positive number of voxels.");
        }

        int? threads = parse.GetValue(Threads);
        if (threads is < 1)
        {
            throw new ArgumentException($"--threads {threads} must be at least 1.");
        }

        long? budget = parse.GetValue(MaxMemory) is { } text ? ByteSize.Parse(text) : null;
        return new BlockRequest(block, budget, parse.GetValue(Resume), threads);
    }
}
