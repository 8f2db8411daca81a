namespace EmMask.Cli.Tests;

/// <summary>Existing outputs are never lost: no overwrite without --force, and a failed run leaves them as they were.</summary>
public class OutputSafetyTests
{
    [Fact]
    public void ExistingOutputWithoutForceIsAnErrorAndUnchanged()
    {
        using var t = new TempFolder();
        NpyCraft.Floats(t["v.npy"], [4, 16, 16], i => i % 5);
        File.WriteAllText(t["out.npy"], "precious");
        var run = CliRunner.Invoke("mask", t["v.npy"], t["out.npy"]);
        Assert.Equal(4, run.ExitCode);
        Assert.Contains("--force", run.Stderr, StringComparison.Ordinal);
        Assert.Equal("precious", File.ReadAllText(t["out.npy"]));
    }

    [Fact]
    public void FailedRunWithForceLeavesExistingOutputUnchanged()
    {
        using var t = new TempFolder();
        File.WriteAllText(t["text.h5"], "not hdf5");
        File.WriteAllText(t["out.npy"], "precious");
        var run = CliRunner.Invoke("mask", t["text.h5"], t["out.npy"], "--force");
        Assert.Equal(3, run.ExitCode);
        Assert.Equal("precious", File.ReadAllText(t["out.npy"]));
    }

    [Fact]
    public void ForceReplacesAndMaskGoesBesideRawInTheSameFile()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--shape", "16", "48", "48", "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke("mask", t["p.h5"], t["p.h5"], "-q").ExitCode);
        Assert.Equal(4, CliRunner.Invoke("mask", t["p.h5"], t["p.h5"], "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke("mask", t["p.h5"], t["p.h5"], "-q", "--force").ExitCode);
        var datasets = EmMask.IO.VolumeReader.ListDatasets(t["p.h5"]);
        Assert.Contains(datasets, d => d.Trim('/') == "raw");
        Assert.Contains(datasets, d => d.Trim('/') == "gt");
        Assert.Contains(datasets, d => d.Trim('/') == "mask");
    }

    [Fact]
    public void TheInputImageIsNeverTheOutputEvenWithForce()
    {
        using var t = new TempFolder();
        NpyCraft.Floats(t["v.npy"], [4, 16, 16], i => i % 5);
        byte[] image = File.ReadAllBytes(t["v.npy"]);
        var npy = CliRunner.Invoke("mask", t["v.npy"], t["v.npy"], "--force");
        Assert.Equal(2, npy.ExitCode);
        Assert.Contains("would replace the image", Assert.Single(npy.ErrorLines), StringComparison.Ordinal);
        Assert.Equal(image, File.ReadAllBytes(t["v.npy"]));

        // The same through another spelling of the path, and as the confidence's output.
        string other = Path.Combine(Path.GetDirectoryName(t["v.npy"])!, ".", "v.npy");
        Assert.Equal(2, CliRunner.Invoke("mask", t["v.npy"], t["m.npy"], "--confidence", other, "--force").ExitCode);
        Assert.Equal(2, CliRunner.Invoke("mask", t["v.npy"], t["m.npy"], "--confidence", t["m.npy"]).ExitCode);
        Assert.False(File.Exists(t["m.npy"]));
        Assert.Equal(image, File.ReadAllBytes(t["v.npy"]));

        // HDF5: the image's own dataset is refused, another dataset of the same file is fine.
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--shape", "8", "32", "32", "-q").ExitCode);
        byte[] file = File.ReadAllBytes(t["p.h5"]);
        var raw = CliRunner.Invoke("mask", t["p.h5"] + ":/raw", t["p.h5"] + ":raw", "--force");
        Assert.Equal(2, raw.ExitCode);
        Assert.Contains("another dataset", Assert.Single(raw.ErrorLines), StringComparison.Ordinal);
        Assert.Equal(file, File.ReadAllBytes(t["p.h5"]));
        Assert.Equal(0, CliRunner.Invoke("mask", t["p.h5"], t["p.h5"] + ":/mask2", "-q").ExitCode);
        Assert.Contains(EmMask.IO.VolumeReader.ListDatasets(t["p.h5"]), d => d.Trim('/') == "mask2");
    }
}
