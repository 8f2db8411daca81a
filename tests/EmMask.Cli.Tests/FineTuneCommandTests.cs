using EmMask.Core.Volumes;
using EmMask.IO;

namespace EmMask.Cli.Tests;

/// <summary><c>emmask finetune</c>: the proofread-sections policy (ProofreadFineTuning) from files, as the worker runs it.</summary>
public class FineTuneCommandTests
{
    private static string SmallModel([System.Runtime.CompilerServices.CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", "EmMask.Learning.Tests", "Fixtures", "MonaiUNet", "small_res2.pt"));

    [Fact]
    public void Fine_tunes_on_the_named_sections_and_the_model_masks()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "4", "--shape", "16", "64", "64", "-q").ExitCode);
        string[] common = ["--model", SmallModel(), "--steps", "3", "--patch", "16", "--learning-rate", "0.01", "-q"];
        var run = CliRunner.Invoke(["finetune", t["p.h5"], t["p.h5:/gt"], t["tuned.safetensors"], "--sections", "3,7-8", .. common]);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains($"on {3 * 64 * 64} proofread voxels", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("model " + t["tuned.safetensors"], run.Stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(t["tuned.training_log.json"]));

        var mask = CliRunner.Invoke("mask", t["p.h5"], t["m.h5"], "--method", "unet", "--model", t["tuned.safetensors"], "--roi", "16", "--postprocess", "none", "-q");
        Assert.True(mask.ExitCode == 0, mask.Stderr);
        Assert.Equal(new Shape3(16, 64, 64), VolumeReader.Read(VolumePath.Parse(t["m.h5"], "/mask")).Shape);
    }

    [Fact]
    public void Help_names_the_model_an_empty_model_means()
    {
        foreach (string command in new[] { "finetune", "mask" })
        {
            var help = CliRunner.Invoke(command, "--help");
            string line = help.Stdout.Split('\n').Single(l => l.TrimStart().StartsWith("--model", StringComparison.Ordinal));
            Assert.Contains("(default em-mask-unet-v2)", line, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Bad_sections_and_options_are_one_line_errors_and_write_nothing()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "4", "--shape", "16", "64", "64", "-q").ExitCode);
        File.WriteAllText(t["keep.safetensors"], "earlier model");
        string[] start = ["finetune", t["p.h5"], t["p.h5:/gt"], t["keep.safetensors"], "--model", SmallModel(), "--patch", "16", "--steps", "2"];
        foreach (var (extra, expected) in new[]
        {
            (new[] { "--sections", "16" }, "--sections"),
            (new[] { "--sections", "x" }, "--sections"),
            (new[] { "--sections", "2", "--steps", "0" }, "steps"),
            (new[] { "--sections", "2", "--augment", "fancy" }, "augment"),
        })
        {
            var bad = CliRunner.Invoke([.. start, .. extra]);
            Assert.Equal(2, bad.ExitCode);
            Assert.Contains(expected, Assert.Single(bad.ErrorLines), StringComparison.Ordinal);
        }

        Assert.Equal("earlier model", File.ReadAllText(t["keep.safetensors"]));
        Assert.Equal(["keep.safetensors", "p.h5"], Directory.GetFiles(t.Path).Select(Path.GetFileName).Order());
    }
}
