using EmMask.Core.Volumes;
using EmMask.IO;

namespace EmMask.Cli.Tests;

/// <summary>emmask train and mask --method unet, end to end through the real CLI.</summary>
public class UNetCommandTests
{
    [Fact]
    public void TrainTwoStepsThenMaskWithTheCheckpoint()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "4", "--shape", "32", "64", "64", "-q").ExitCode);
        var train = CliRunner.Invoke("train", "--data", t["p.h5"], "--val", t["p.h5"], "--out", t["run"], "--steps", "2", "--patch", "16", "--batch", "1", "--validate-every", "2", "--threads", "1", "-q");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.True(File.Exists(Path.Combine(t["run"], "best.safetensors")));
        Assert.Contains("best validation dice", train.Stdout, StringComparison.Ordinal);

        var mask = CliRunner.Invoke("mask", t["p.h5"], t["m.h5"], "--method", "unet", "--model", Path.Combine(t["run"], "last.safetensors"), "--roi", "32", "--postprocess", "none");
        Assert.True(mask.ExitCode == 0, mask.Stderr);
        Assert.Contains("windows", mask.Stderr, StringComparison.Ordinal);
        var m = VolumeReader.Read(VolumePath.Parse(t["m.h5"], "/mask"));
        Assert.Equal(new Shape3(32, 64, 64), m.Shape);
        Assert.Equal("unet", VolumeReader.ReadAttributes(VolumePath.Parse(t["m.h5"], "/mask"))["method"]);
    }

    [Fact]
    public void MissingModelIsAOneLineErrorAndNoOutput()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--shape", "16", "32", "32", "-q").ExitCode);
        var run = CliRunner.Invoke("mask", t["p.h5"], t["m.h5"], "--method", "unet", "--model", t["nope.safetensors"]);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Single(run.ErrorLines, l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains("nope.safetensors", run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(t["m.h5"]));
    }

    [Fact]
    public void CorruptModelIsAModelError()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--shape", "16", "32", "32", "-q").ExitCode);
        File.WriteAllText(t["bad.safetensors"], "not a model");
        var run = CliRunner.Invoke("mask", t["p.h5"], t["m.h5"], "--method", "unet", "--model", t["bad.safetensors"]);
        Assert.Equal(5, run.ExitCode);
        Assert.False(File.Exists(t["m.h5"]));
    }

    [Fact]
    public void ShippedModelIsFoundByDefault()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "2001", "--shape", "32", "64", "64", "-q").ExitCode);
        var run = CliRunner.Invoke("mask", t["p.h5"], t["m.h5"], "--method", "unet", "--roi", "32", "-q");
        Assert.True(run.ExitCode == 0, run.Stderr);
        var eval = CliRunner.Invoke("eval", t["m.h5"], t["p.h5"]);
        Assert.Contains("dice", eval.Stdout, StringComparison.Ordinal);
    }
}
