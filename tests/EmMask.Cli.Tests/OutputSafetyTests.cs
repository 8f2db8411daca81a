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
}
