using System.Diagnostics;
using EmMask.Core.Volumes;
using EmMask.IO;
using PureHDF;

namespace EmMask.Cli.Tests;

/// <summary>
/// <c>emmask mask --block / --max-memory / --resume --confidence</c>: the in-memory run's confidence map, streamed into
/// HDF5; refusals before any compute that leave every file as it was; a killed run resumes to the same map.
/// </summary>
public class BlockwiseConfidenceCommandTests
{
    // As BlockwiseCommandTests: small blocks at level 0, the trachea rule and the refinement off.
    private static readonly string[] Level0 = ["--mode", "3d", "--level", "0", "--trachea-gap", "0", "--no-refine", "-q"];

    [Fact]
    public void BlockwiseConfidenceIsTheInMemoryConfidenceMap()
    {
        // Tolerance 0: the blocks run the in-memory code under the same plan (the sample is the whole volume here), and
        // the block-by-block in-memory path is compared exactly too (ClassicalBlockwiseTests). The default
        // post-processing (clean) runs in both: the map agrees with the mask before it, in memory as block-wise.
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "5", "--shape", "80", "160", "160", "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["mem.h5"], "--confidence", t["mem-c.h5"], .. Level0]).ExitCode);
        var run = CliRunner.Invoke(["mask", t["p.h5"], t["blk.h5"], "--block", "64", "--threads", "1", "--confidence", t["blk-c.h5"], .. Level0]);
        Assert.True(run.ExitCode == 0, run.Stderr);

        Assert.True(IsFloat32(t["blk-c.h5"], "/confidence"), "stored as float32");
        var actual = Confidence(t["blk-c.h5"]);
        Assert.Equal(new Shape3(80, 160, 160), actual.Shape);
        Assert.All(actual.Span.ToArray(), c => Assert.InRange(c, 0f, 1f));
        Assert.Equal(Confidence(t["mem-c.h5"]).Span.ToArray(), actual.Span.ToArray());
        Assert.Equal("true", VolumeReader.ReadAttributes(VolumePath.Parse(t["blk-c.h5"], "/confidence"))["blockwise"]);
        Assert.False(Directory.Exists(t[".blk.h5.blocks"]));
    }

    [Fact]
    public void BesideTheMaskInItsFileTheMaskIsTheConfidenceFromOneHalf()
    {
        // --postprocess none: the mask written is the one the map agrees with, so mask = confidence ≥ 0.5 holds for every
        // voxel, the global steps (hole filling, small regions) included. The automatic path (--max-memory) takes it.
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "6", "--shape", "64", "128", "128", "-q").ExitCode);
        var run = CliRunner.Invoke(["mask", t["p.h5"], t["out.h5"], "--max-memory", "40M", "--postprocess", "none", "--confidence", t["out.h5"], .. Level0[..^1]]);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("block-wise:", run.Stdout + run.Stderr, StringComparison.Ordinal);
        var mask = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["out.h5"], "/mask"));
        var confidence = Confidence(t["out.h5"]);
        Assert.Equal(mask.Shape, confidence.Shape);
        var m = mask.Span.ToArray();
        var c = confidence.Span.ToArray();
        Assert.Contains((byte)1, m);
        Assert.Contains((byte)0, m);
        for (int i = 0; i < m.Length; i++)
        {
            Assert.True(m[i] == (c[i] >= 0.5f ? 1 : 0), $"voxel {i}: mask {m[i]}, confidence {c[i]}");
        }
    }

    [Fact]
    public void TheUNetBlockByBlockWritesTheInMemoryMaskAndProbabilityMapBesidePadding()
    {
        // The blocks' windows lie on the whole volume's grid, so their probabilities, and the mask, are the in-memory
        // ones; the hysteresis, merged over the blocks, raises its voxels to 0.5 as in memory. The right 42 columns are
        // exact-zero padding: the envelope leaves the padding out and keeps the classical tissue next to it
        // (TissueEnvelope.NextToPadding), and the block-wise run assembles the padding from its blocks (without it
        // 25 497 voxels of the mask differed). Section 20 is lost (blank): it leaves the model's normalisation and is in
        // no region of the hysteresis, in memory as block by block (NonBrainHysteresis.LostSections). One test for all
        // of it, on 32 sections (48 until 2026-12-08): each run cost about 20 s of CI at 48.
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "8", "--shape", "32", "192", "192", "-q").ExitCode);
        var raw = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["p.h5"], "/raw"));
        for (int z = 0; z < 32; z++)
        {
            for (int y = 0; y < 192; y++)
            {
                raw.Row(z, y)[150..].Clear();
            }
        }

        raw.Span.Slice(20 * 192 * 192, 192 * 192).Clear();

        VolumeWriter.Write(VolumePath.Parse(t["q.h5"], "/raw"), raw, new VolumeWriteOptions());
        Assert.Equal(0, CliRunner.Invoke("mask", t["q.h5"], t["mem.h5"], "--method", "unet", "--confidence", t["mem.h5"], "-q").ExitCode);
        var run = CliRunner.Invoke("mask", t["q.h5"], t["blk.h5"], "--method", "unet", "--block", "96", "--confidence", t["blk-c.h5"]);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("block-wise U-Net: 4 blocks", run.Stdout + run.Stderr, StringComparison.Ordinal);
        var memory = Mask(t["mem.h5"]);
        Assert.Equal(memory, Mask(t["blk.h5"]));
        for (int i = 0; i < memory.Length; i++)
        {
            Assert.True((i % 192 < 150 && i / (192 * 192) != 20) || memory[i] == 0, $"voxel {i}: padding called tissue");
        }

        var expected = Confidence(t["mem.h5"]).Span.ToArray();
        Assert.Contains(0.5f, expected); // the hysteresis raised some voxels
        Assert.Equal(expected, Confidence(t["blk-c.h5"]).Span.ToArray());
        Assert.False(Directory.Exists(t[".blk.h5.blocks"]));
    }

    [Theory]
    [InlineData(new[] { "--block", "64", "--confidence", "c_*.tif", "--force" }, 2, "block-wise runs write the confidence map into one HDF5, TIFF, npy or MRC file")]
    [InlineData(new[] { "--max-memory", "4M", "--confidence", "c.tif" }, 4, "c.tif already exists")]
    [InlineData(new[] { "--block", "64", "--method", "unet", "--confidence", "c.npy" }, 4, "c.npy already exists")]
    [InlineData(new[] { "--block", "64", "--confidence", "out.h5:/mask", "--force" }, 2, "is the mask's output")]
    [InlineData(new[] { "--block", "64", "--multiscale", "1", "--confidence", "out.h5:/mask_s1", "--force" }, 2, "one of its coarser levels")]
    [InlineData(new[] { "--block", "64", "--confidence", "c.h5" }, 4, "c.h5:/confidence")]
    [InlineData(new[] { "--resume", "--confidence", "c.h5" }, 4, "c.h5:/confidence")]
    public void RefusedConfidenceOutputsLeaveEveryFileAsItWas(string[] extra, int exitCode, string message)
    {
        // Existing files of every kind named: an HDF5 output holding another dataset (a new /mask needs no --force), a
        // confidence file holding /confidence, npy and TIFF ones. A refusal comes before any compute: no store, no
        // temp file, every byte the same.
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "9", "--shape", "64", "64", "64", "-q").ExitCode);
        var small = new Volume<float>(new Shape3(2, 3, 4));
        small.Span.Fill(0.25f);
        VolumeWriter.Write(VolumePath.Parse(t["out.h5"], "/other"), small, new VolumeWriteOptions());
        VolumeWriter.Write(VolumePath.Parse(t["c.h5"], "/confidence"), small, new VolumeWriteOptions());
        VolumeWriter.Write(VolumePath.Parse(t["c.npy"], "/unused"), small, new VolumeWriteOptions());
        VolumeWriter.Write(VolumePath.Parse(t["c.tif"], "/unused"), small, new VolumeWriteOptions());
        var before = FolderSnapshot.Take(t.Path);

        var args = extra.Select(a => a.StartsWith("c.", StringComparison.Ordinal) || a.StartsWith("c_", StringComparison.Ordinal) || a.StartsWith("out.", StringComparison.Ordinal) ? t[a] : a);
        var run = CliRunner.Invoke(["mask", t["p.h5"], t["out.h5"], "--mode", "3d", .. args]);
        Assert.Equal(exitCode, run.ExitCode);
        Assert.Contains(message, run.Stderr, StringComparison.Ordinal);
        FolderSnapshot.AssertUnchanged(before, t.Path);
    }

    [Fact]
    public void KilledRunResumesToTheUninterruptedConfidenceAndLeavesTheOldFileUntilThen()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "7", "--shape", "96", "192", "192", "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["ref.h5"], "--block", "32", "--confidence", t["ref-c.h5"], .. Level0]).ExitCode);

        // The confidence file exists with another dataset: the killed run leaves it byte for byte, the resumed one adds
        // /confidence beside it.
        var other = new Volume<byte>(new Shape3(2, 2, 2));
        VolumeWriter.Write(VolumePath.Parse(t["c.h5"], "/other"), other, new VolumeWriteOptions());
        byte[] old = File.ReadAllBytes(t["c.h5"]);

        // Kill -9 once a few blocks' confidence is stored (a block's file appears only when complete).
        string store = t[".out.h5.blocks"];
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "emmask.dll"), "mask", t["p.h5"], t["out.h5"], "--block", "32", "--confidence", t["c.h5"] }.Concat(Level0))
        {
            start.ArgumentList.Add(a);
        }

        using (var process = Process.Start(start)!)
        {
            var clock = Stopwatch.StartNew();
            while (!(Directory.Exists(store) && Directory.GetFiles(store, "*.confidence").Length >= 5) && !process.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                Thread.Sleep(20);
            }

            Assert.False(process.HasExited, "the run finished before it could be killed");
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }

        Assert.False(File.Exists(t["out.h5"]));
        Assert.Equal(old, File.ReadAllBytes(t["c.h5"]));
        int kept = Directory.GetFiles(store, "*.confidence").Length;
        Assert.True(kept >= 5, $"{kept} blocks' confidence stored");

        var resumed = CliRunner.Invoke(["mask", t["p.h5"], t["out.h5"], "--block", "32", "--resume", "--confidence", t["c.h5"], .. Level0[..^1]]);
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains("finished earlier and resumed", resumed.Stdout + resumed.Stderr, StringComparison.Ordinal);
        Assert.Equal(Confidence(t["ref-c.h5"]).Span.ToArray(), Confidence(t["c.h5"]).Span.ToArray());
        Assert.Equal(Mask(t["ref.h5"]), Mask(t["out.h5"]));
        Assert.Contains("other", VolumeReader.ListDatasets(t["c.h5"]).Select(d => d.Trim('/')));
        Assert.False(Directory.Exists(store));
        Assert.Empty(Directory.GetFiles(t.Path, "*" + ".tmp-" + "*", SearchOption.AllDirectories));
    }

    private static byte[] Mask(string file) => ((Volume<byte>)VolumeReader.Read(VolumePath.Parse(file, "/mask"))).Span.ToArray();

    private static Volume<float> Confidence(string file) => (Volume<float>)VolumeReader.Read(VolumePath.Parse(file, "/confidence"));

    // The dataset's stored type (VolumeReader would hand float64 back as float32 too).
    private static bool IsFloat32(string file, string dataset)
    {
        using var h5 = H5File.OpenRead(file);
        var type = h5.Dataset(dataset).Type;
        return type.Class == H5DataTypeClass.FloatingPoint && type.Size == 4;
    }
}
