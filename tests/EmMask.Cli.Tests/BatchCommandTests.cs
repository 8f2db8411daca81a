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

    [Fact]
    public void ConfidenceSuffixWritesEachInputsMapAsItsOwnRunDoes()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["a.h5"], "--seed", "2", "--shape", "8", "64", "64", "-q").ExitCode);
        VolumeWriter.Write(VolumePath.Parse(t["b.npy"], "/raw"), VolumeReader.Read(VolumePath.Parse(t["a.h5"], "/raw")), new VolumeWriteOptions());

        Assert.Equal(0, CliRunner.Invoke("batch", t["a.h5"], "-o", t["out"], "--confidence-suffix", "_mask", "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke("mask", t["a.h5"], t["a1.h5"], "--confidence", t["a1c.npy"], "-q").ExitCode);
        var expected = Assert.IsType<Volume<float>>(VolumeReader.Read(VolumePath.Parse(t["a1c.npy"], "/raw")));
        // HDF5: the map is a dataset beside the mask in its file (same suffix); npy: a file of its own.
        var inFile = Assert.IsType<Volume<float>>(VolumeReader.Read(VolumePath.Parse(Path.Combine(t["out"], "a_mask.h5") + ":/confidence", "/raw")));
        Assert.True(expected.Span.SequenceEqual(inFile.Span));
        Assert.True(Mask(t["a1.h5"]).Span.SequenceEqual(Mask(Path.Combine(t["out"], "a_mask.h5") + ":/mask").Span));

        var clash = CliRunner.Invoke("batch", t["b.npy"], "-o", t["out2"], "--confidence-suffix", "_mask");
        Assert.Equal(2, clash.ExitCode); // an npy mask and its map cannot share a file
        Assert.Contains("--confidence-suffix", clash.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(t["out2"]));

        Assert.Equal(0, CliRunner.Invoke("batch", t["b.npy"], "-o", t["out3"], "--confidence-suffix", "_conf", "-q").ExitCode);
        var own = Assert.IsType<Volume<float>>(VolumeReader.Read(VolumePath.Parse(Path.Combine(t["out3"], "b_conf.npy"), "/raw")));
        Assert.True(expected.Span.SequenceEqual(own.Span));
    }
}
