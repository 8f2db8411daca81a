using System.Text.Json;
using EmMask.Core.Volumes;
using EmMask.IO;

namespace EmMask.Cli.Tests;

/// <summary><c>emmask batch</c>: many volumes in one run, the same masks as one by one, failures reported and skipped.</summary>
public class BatchCommandTests
{
    private static Volume<byte> Mask(string path) => Assert.IsType<Volume<byte>>(VolumeReader.Read(VolumePath.Parse(path, "/mask")));

    [Fact]
    public void EachInputGetsTheMaskOfItsOwnRunAndABadOneIsSkipped()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["a.h5"], "--seed", "2", "--shape", "8", "64", "64", "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke("phantom", t["b.h5"], "--seed", "3", "--shape", "8", "64", "64", "-q").ExitCode);
        VolumeWriter.Write(VolumePath.Parse(t["b.npy"], "/raw"), VolumeReader.Read(VolumePath.Parse(t["b.h5"], "/raw")), new VolumeWriteOptions());
        File.WriteAllText(t["bad.npy"], "not a volume");

        var run = CliRunner.Invoke("batch", t["a.h5"], t["bad.npy"], t["b.npy"], "-o", t["out"], "--threshold", "3", "--json");
        Assert.Equal(3, run.ExitCode); // the bad input's code (unreadable input)
        var results = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal(3, results.GetArrayLength());
        Assert.Contains("bad.npy", results[1].GetProperty("Input").GetString(), StringComparison.Ordinal);
        Assert.Contains("not a .npy file", results[1].GetProperty("Error").GetString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(t["out"], "bad_mask.npy")));

        // The same masks as one run each, with the same options.
        Assert.Equal(0, CliRunner.Invoke("mask", t["a.h5"], t["a1.h5"], "--threshold", "3", "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke("mask", t["b.npy"], t["b1.npy"], "--threshold", "3", "-q").ExitCode);
        Assert.True(Mask(t["a1.h5"]).Span.SequenceEqual(Mask(Path.Combine(t["out"], "a_mask.h5") + ":/mask").Span));
        Assert.True(Mask(t["b1.npy"]).Span.SequenceEqual(Mask(Path.Combine(t["out"], "b_mask.npy")).Span));
    }

    [Fact]
    public void ExistingOutputsNeedForceAndClashingNamesAreRefusedUpFront()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["a.h5"], "--seed", "2", "--shape", "8", "64", "64", "-q").ExitCode);
        Directory.CreateDirectory(t["x"]);
        File.Copy(t["a.h5"], Path.Combine(t["x"], "a.h5"));

        var clash = CliRunner.Invoke("batch", t["a.h5"], Path.Combine(t["x"], "a.h5"), "-o", t["out"]);
        Assert.Equal(2, clash.ExitCode);
        Assert.Contains("two inputs would write", clash.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(t["out"]));

        var badValue = CliRunner.Invoke("batch", t["a.h5"], "-o", t["out"], "--block-size", "0");
        Assert.Equal(2, badValue.ExitCode);
        Assert.Contains("block", badValue.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.False(Directory.Exists(t["out"]));

        Assert.Equal(0, CliRunner.Invoke("batch", t["a.h5"], "-o", t["out"], "-q").ExitCode);
        string written = Path.Combine(t["out"], "a_mask.h5");
        byte[] before = File.ReadAllBytes(written);
        Assert.Equal(4, CliRunner.Invoke("batch", t["a.h5"], "-o", t["out"], "--threshold", "40", "-q").ExitCode);
        Assert.Equal(before, File.ReadAllBytes(written));
        Assert.Equal(0, CliRunner.Invoke("batch", t["a.h5"], "-o", t["out"], "--threshold", "40", "--force", "-q").ExitCode);
        Assert.NotEqual(before, File.ReadAllBytes(written));

        var sequence = CliRunner.Invoke("batch", t["x"], "-o", t["out2"]);
        Assert.Equal(2, sequence.ExitCode);
        Assert.Contains("stack of section files", sequence.Stderr, StringComparison.Ordinal);
    }
}
