namespace EmMask.Cli.Tests;

/// <summary>Every bad input gives one line naming the problem, a non-zero exit, no stack trace and no output file.</summary>
public class BadInputTests
{
    private static void AssertCleanFailure(CliRunner.Run run, int exitCode, string mention, string output)
    {
        Assert.Equal(exitCode, run.ExitCode);
        Assert.Single(run.ErrorLines, l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.All(run.ErrorLines, l => Assert.False(l.StartsWith("at ", StringComparison.Ordinal), l));
        Assert.Contains(mention, run.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(output), "no output may be written");
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(output)!, "*tmp*"));
    }

    [Fact]
    public void MissingFile()
    {
        using var t = new TempFolder();
        AssertCleanFailure(CliRunner.Invoke("mask", t["nope.h5"], t["out.h5"]), 3, "nope.h5", t["out.h5"]);
    }

    [Fact]
    public void MissingDatasetListsTheExistingOnes()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--shape", "8", "16", "16", "-q").ExitCode);
        var run = CliRunner.Invoke("mask", t["p.h5"] + ":/nothere", t["out.h5"]);
        AssertCleanFailure(run, 3, "nothere", t["out.h5"]);
        Assert.Contains("raw", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void TextFileNamedH5()
    {
        using var t = new TempFolder();
        File.WriteAllText(t["text.h5"], "this is not HDF5\n");
        AssertCleanFailure(CliRunner.Invoke("mask", t["text.h5"], t["out.h5"]), 3, "text.h5", t["out.h5"]);
    }

    [Fact]
    public void CorruptHdf5()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--shape", "16", "32", "32", "-q").ExitCode);
        var bytes = File.ReadAllBytes(t["p.h5"]);
        File.WriteAllBytes(t["cut.h5"], bytes[..(bytes.Length / 3)]);
        AssertCleanFailure(CliRunner.Invoke("mask", t["cut.h5"], t["out.h5"]), 3, "cut.h5", t["out.h5"]);
    }

    [Fact]
    public void FourDimensionalArray()
    {
        using var t = new TempFolder();
        NpyCraft.Floats(t["4d.npy"], [2, 3, 4, 5], i => i);
        AssertCleanFailure(CliRunner.Invoke("mask", t["4d.npy"], t["out.npy"]), 3, "4D", t["out.npy"]);
    }

    [Theory]
    [InlineData("<c8", "complex")]
    [InlineData("<U5", "U5")]
    public void ComplexAndStringData(string descr, string mention)
    {
        using var t = new TempFolder();
        NpyCraft.Write(t["bad.npy"], descr, [2, 4, 4], new byte[descr == "<c8" ? 2 * 16 * 8 : 2 * 16 * 20]);
        AssertCleanFailure(CliRunner.Invoke("mask", t["bad.npy"], t["out.npy"]), 3, mention, t["out.npy"]);
    }

    [Fact]
    public void AllNaN()
    {
        using var t = new TempFolder();
        NpyCraft.Floats(t["nan.npy"], [4, 8, 8], _ => float.NaN);
        AssertCleanFailure(CliRunner.Invoke("mask", t["nan.npy"], t["out.npy"]), 3, "NaN", t["out.npy"]);
    }

    [Fact]
    public void EmptyAxis()
    {
        using var t = new TempFolder();
        NpyCraft.Write(t["empty.npy"], "|u1", [0, 8, 8], []);
        AssertCleanFailure(CliRunner.Invoke("mask", t["empty.npy"], t["out.npy"]), 3, "empty", t["out.npy"]);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-4")]
    public void NonPositiveBlockSize(string value)
    {
        using var t = new TempFolder();
        NpyCraft.Floats(t["v.npy"], [4, 8, 8], i => i % 7);
        AssertCleanFailure(CliRunner.Invoke("mask", t["v.npy"], t["out.npy"], "--block-size", value), 2, "block_size", t["out.npy"]);
    }

    [Fact]
    public void UnknownMethod()
    {
        using var t = new TempFolder();
        NpyCraft.Floats(t["v.npy"], [4, 8, 8], i => i % 7);
        AssertCleanFailure(CliRunner.Invoke("mask", t["v.npy"], t["out.npy"], "--method", "magic"), 2, "magic", t["out.npy"]);
    }

    [Fact]
    public void ConstantVolumeGivesAllZeroMaskAndAWarning()
    {
        using var t = new TempFolder();
        NpyCraft.Floats(t["c.npy"], [4, 8, 8], _ => 3f);
        var run = CliRunner.Invoke("mask", t["c.npy"], t["out.npy"], "--postprocess", "none");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("constant", run.Stderr, StringComparison.OrdinalIgnoreCase);
        var mask = (EmMask.Core.Volumes.Volume<byte>)EmMask.IO.Formats.NpyFormat.Read(t["out.npy"]);
        Assert.All(mask.Span.ToArray(), b => Assert.Equal(0, b));
    }
}
