using System.Diagnostics;
using EmMask.Core.Volumes;
using EmMask.IO;

namespace EmMask.Cli.Tests;

/// <summary><c>emmask mask --block / --max-memory / --resume</c>: the same mask as in memory, resumable after a kill, clear errors.</summary>
public class BlockwiseCommandTests
{
    // Small blocks at level 0 test the store and the executor; the trachea rule's reach (halo 55 at level 0) would need
    // blocks of 64 and more, and the boundary refinement's tiles (128 voxels, to which blocks align), so both are off
    // here (the core's block tests run them: ClassicalBlockwiseTests).
    private static readonly string[] Level0 = ["--mode", "3d", "--level", "0", "--trachea-gap", "0", "--no-refine", "-q"];

    [Fact]
    public void BlockwiseMaskEqualsTheInMemoryMaskAndLeavesNoStoreBehind()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "5", "--shape", "80", "160", "160", "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["mem.h5"], .. Level0]).ExitCode);
        var run = CliRunner.Invoke(["mask", t["p.h5"], t["blk.h5"], "--block", "64", "--threads", "1", .. Level0]);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal(Mask(t["mem.h5"]), Mask(t["blk.h5"]));
        Assert.Equal("true", VolumeReader.ReadAttributes(VolumePath.Parse(t["blk.h5"], "/mask"))["blockwise"]);
        Assert.False(Directory.Exists(t[".blk.h5.blocks"]));
    }

    [Fact]
    public void TooLittleMaxMemorySwitchesToBlocksByItself()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "6", "--shape", "64", "128", "128", "-q").ExitCode);
        var run = CliRunner.Invoke("mask", t["p.h5"], t["blk.h5"], "--mode", "3d", "--level", "0", "--trachea-gap", "0", "--no-refine", "--max-memory", "40M");
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("block-wise:", run.Stdout + run.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["mem.h5"], .. Level0]).ExitCode);
        Assert.Equal(Mask(t["mem.h5"]), Mask(t["blk.h5"]));
    }

    [Fact]
    public void ASectionOverTheBudgetIsMaskedInTilesAsInMemory()
    {
        // One section of 640² needs about 48M in 2D mode (a block is the whole section); under 8M it is tiled in-plane and
        // masked as the section is in memory (2D), its resin measured on the sample as the section measures it on itself,
        // and stained regions joined over the tiles (TiledStainJoin).
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "8", "--shape", "1", "640", "640", "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke("mask", t["p.h5"], t["mem.h5"], "-q").ExitCode);
        var run = CliRunner.Invoke("mask", t["p.h5"], t["blk.h5"], "--max-memory", "8M");
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("masked in tiles as a volume of one section", run.Stdout + run.Stderr, StringComparison.Ordinal);
        Assert.Contains("9 blocks", run.Stdout + run.Stderr, StringComparison.Ordinal);
        Assert.Equal(Mask(t["mem.h5"]), Mask(t["blk.h5"]));

        // Under a budget no tile fits, the error names the least one that does (not the whole section's need).
        var refused = CliRunner.Invoke("mask", t["p.h5"], t["tiny.h5"], "--max-memory", "2M");
        Assert.NotEqual(0, refused.ExitCode);
        var least = System.Text.RegularExpressions.Regex.Match(refused.Stderr, "too small for this section: it is masked in tiles \\(640x640 does not fit whole\\), and a tile with its halo of [0-9]+ voxels needs ([0-9]+M)");
        Assert.True(least.Success, refused.Stderr);
        Assert.False(File.Exists(t["tiny.h5"]));
        Assert.Equal(0, CliRunner.Invoke("mask", t["p.h5"], t["tiny.h5"], "--max-memory", least.Groups[1].Value, "-q").ExitCode);
    }

    [Fact]
    public void ASectionIsTiledWhereItsMeasuredNeedExceedsTheBudget()
    {
        // In 2D mode a section masked whole needs about 110 bytes per voxel (measured: 108-109 on 6000² and 9600² SEM
        // sections), so a 640² section (46 MB) is tiled under 40M. Estimated at 40 bytes per voxel (16 MB), it ran whole.
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "8", "--shape", "1", "640", "640", "-q").ExitCode);
        var run = CliRunner.Invoke("mask", t["p.h5"], t["blk.h5"], "--max-memory", "40M");
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("masked in tiles as a volume of one section", run.Stdout + run.Stderr, StringComparison.Ordinal);
        var whole = CliRunner.Invoke("mask", t["p.h5"], t["mem.h5"], "--max-memory", "60M");
        Assert.True(whole.ExitCode == 0, whole.Stderr);
        Assert.DoesNotContain("block-wise", whole.Stdout + whole.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void AStackWhoseSectionsDoNotFitIsMaskedSectionBySectionInTiles()
    {
        // Sections of 640² need about 48M each in 2D mode (a block is a whole section); under 9M each section is tiled in-plane
        // and masked as it is alone in memory (2D), stained regions joined over its tiles.
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "8", "--shape", "2", "640", "640", "-q").ExitCode);
        var stack = VolumeReader.Read(VolumePath.Parse(t["p.h5"], "/raw"));
        var run = CliRunner.Invoke("mask", t["p.h5"], t["blk.h5"], "--max-memory", "9M", "--confidence", t["c.npy"]);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("do not fit the memory budget one by one, so each was masked on its own in tiles", run.Stdout + run.Stderr, StringComparison.Ordinal);
        var mask = Mask(t["blk.h5"]);
        var confidence = (Volume<float>)VolumeReader.Read(VolumePath.Parse(t["c.npy"], "/confidence"));
        Assert.Equal(new Shape3(2, 640, 640), confidence.Shape);
        for (int z = 0; z < 2; z++)
        {
            string section = t[$"s{z}.h5"];
            VolumeWriter.Write(VolumePath.Parse(section, "/raw"), VolumeRegions.Crop(stack, (z, 0, 0), new Shape3(1, 640, 640)), new VolumeWriteOptions());
            Assert.Equal(0, CliRunner.Invoke("mask", section, t[$"m{z}.h5"], "--postprocess", "none", "--confidence", t[$"c{z}.npy"], "-q").ExitCode);
            Assert.Equal(0, CliRunner.Invoke("mask", section, t[$"p{z}.h5"], "-q").ExitCode);
            Assert.Equal(Mask(t[$"p{z}.h5"]), mask.AsSpan(z * 640 * 640, 640 * 640).ToArray());
            // The confidence agrees with the mask before post-processing, as in memory.
            var alone = (Volume<float>)VolumeReader.Read(VolumePath.Parse(t[$"c{z}.npy"], "/confidence"));
            Assert.Equal(alone.Span.ToArray(), confidence.Span.Slice(z * 640 * 640, 640 * 640).ToArray());
        }

        Assert.False(Directory.Exists(t[".blk.h5.blocks"]));
    }

    [Fact]
    public void AStackWhoseTilesDoNotFitNamesTheBudgetThatDoesAndWritesNothing()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "8", "--shape", "2", "640", "640", "-q").ExitCode);
        var refused = CliRunner.Invoke("mask", t["p.h5"], t["blk.h5"], "--max-memory", "4M");
        Assert.NotEqual(0, refused.ExitCode);
        var least = System.Text.RegularExpressions.Regex.Match(refused.Stderr, "sections of 640x640 are masked one by one in tiles, and a tile with its halo of [0-9]+ voxels needs ([0-9]+M); give at least that");
        Assert.True(least.Success, refused.Stderr);
        Assert.False(File.Exists(t["blk.h5"]));
        Assert.False(Directory.Exists(t[".blk.h5.blocks"]));
        var run = CliRunner.Invoke("mask", t["p.h5"], t["blk.h5"], "--max-memory", least.Groups[1].Value, "-q");
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.True(File.Exists(t["blk.h5"]));
    }

    [Fact]
    public void AStackMaskedSectionBySectionRefusesWhatItCannotDoBeforeAnyWork()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "8", "--shape", "20", "640", "640", "-q").ExitCode);

        // A post-processing step across sections.
        var across = CliRunner.Invoke("mask", t["p.h5"], t["blk.h5"], "--max-memory", "12M", "--postprocess", "fill3d");
        Assert.NotEqual(0, across.ExitCode);
        Assert.Contains("'fill3d' reaches across sections", across.Stderr, StringComparison.Ordinal);

        // A compressed HDF5 confidence map is written 16 sections deep: 17 sections of float32 (27.9 MB) do not fit 12M,
        // one section of a TIFF or npy does.
        var deep = CliRunner.Invoke("mask", t["p.h5"], t["blk.h5"], "--max-memory", "12M", "--confidence", t["c.h5"]);
        Assert.NotEqual(0, deep.ExitCode);
        Assert.Contains("writing the confidence map holds 17 of them at once (27M", deep.Stderr, StringComparison.Ordinal);
        Assert.Contains("or write a TIFF or npy file", deep.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(t["blk.h5"]));
        Assert.False(File.Exists(t["c.h5"]));
        Assert.False(Directory.Exists(t[".blk.h5.blocks"]));
    }

    [Fact]
    public void AKilledStackMaskedSectionBySectionResumesToTheUninterruptedMask()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "9", "--shape", "4", "640", "640", "-q").ExitCode);
        string[] args = ["--max-memory", "9M", "--threads", "1", "-q"];
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["ref.h5"], .. args]).ExitCode);

        // Kill -9 once the first sections' blocks are stored (a block file appears only when complete).
        string store = t[".out.h5.blocks"];
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "emmask.dll"), "mask", t["p.h5"], t["out.h5"] }.Concat(args))
        {
            start.ArgumentList.Add(a);
        }

        int Stored() => Directory.Exists(store) ? Directory.GetFiles(store, "*.block", SearchOption.AllDirectories).Length : 0;
        using (var process = Process.Start(start)!)
        {
            var clock = Stopwatch.StartNew();
            while (Stored() < 30 && !process.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                Thread.Sleep(10);
            }

            Assert.False(process.HasExited, "the run finished before it could be killed");
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }

        Assert.False(File.Exists(t["out.h5"]));
        Assert.True(Stored() >= 30, $"{Stored()} blocks stored");
        var resumed = CliRunner.Invoke(["mask", t["p.h5"], t["out.h5"], "--resume", .. args[..^1]]);
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Matches("resuming: [0-9]+ finished blocks kept from the earlier run", resumed.Stdout + resumed.Stderr);
        Assert.Equal(Mask(t["ref.h5"]), Mask(t["out.h5"]));
        Assert.False(Directory.Exists(store));
    }

    [Fact]
    public void MultiscaleLevelsAreTheMaxOfEachCellInMemoryAndBlockwise()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "3", "--shape", "70", "100", "130", "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["mem.h5"], "--multiscale", "2", .. Level0]).ExitCode);
        var run = CliRunner.Invoke(["mask", t["p.h5"], t["blk.h5"], "--multiscale", "2", "--block", "32", .. Level0]);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var full = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["mem.h5"], "/mask"));
        for (int k = 1; k <= 2; k++)
        {
            int f = 1 << k;
            var level = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["mem.h5"], $"/mask_s{k}"));
            Assert.Equal(new Shape3((70 + f - 1) / f, (100 + f - 1) / f, (130 + f - 1) / f), level.Shape);
            for (int z = 0; z < level.Shape.Z; z++)
            {
                for (int y = 0; y < level.Shape.Y; y++)
                {
                    for (int x = 0; x < level.Shape.X; x++)
                    {
                        byte max = 0;
                        for (int dz = z * f; dz < Math.Min(70, (z + 1) * f); dz++)
                        {
                            for (int dy = y * f; dy < Math.Min(100, (y + 1) * f); dy++)
                            {
                                for (int dx = x * f; dx < Math.Min(130, (x + 1) * f); dx++)
                                {
                                    max = Math.Max(max, full[dz, dy, dx]);
                                }
                            }
                        }

                        Assert.True(level[z, y, x] == max, $"level {k} at ({z}, {y}, {x})");
                    }
                }
            }

            Assert.Equal(level.Span.ToArray(), Mask(t["blk.h5"], $"/mask_s{k}"));
            Assert.Equal(f.ToString(System.Globalization.CultureInfo.InvariantCulture), VolumeReader.ReadAttributes(VolumePath.Parse(t["blk.h5"], $"/mask_s{k}"))["downsample_factor"]);
        }

        Assert.Equal(full.Span.ToArray(), Mask(t["blk.h5"]));
    }

    [Fact]
    public void TheUNetBlockByBlockGivesTheInMemoryUNetMaskOnAThinStack()
    {
        // 6 sections: the classical envelope works section by section, and the sections whose resin it knows grow by
        // half the margin (MaskResult.ResinKnown); the block-wise classical run must carry those flags (without them
        // 219 voxels differ). The U-Net itself runs as one block here (each axis within one window of the wider pass);
        // its window grid across blocks is tested in EmMask.Learning.Tests (UNetBlockwiseGridTests).
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "8", "--shape", "6", "160", "160", "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke("mask", t["p.h5"], t["mem.h5"], "--method", "unet", "-q").ExitCode);
        var run = CliRunner.Invoke("mask", t["p.h5"], t["blk.h5"], "--method", "unet", "--block", "64", "-q");
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal(Mask(t["mem.h5"]), Mask(t["blk.h5"]));
    }

    [Fact]
    public void TheUNetGoesBlockByBlockWhereItsMeasuredNeedExceedsTheBudget()
    {
        // UNetMemory: 16×64² needs about 0.3 GiB in memory (mostly the fixed part). Under 100M block by block cannot
        // help (the fixed part alone is over it): refused before any compute, every file as it was. With --block the
        // run goes block by block anyway and says why; under 1G in memory, with the same mask. Until 2026-12-07 the
        // budget never sent the U-Net block-wise, and then its blocks were 128 whatever the budget.
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "6", "--shape", "16", "64", "64", "-q").ExitCode);
        var before = FolderSnapshot.Take(t.Path);
        var refused = CliRunner.Invoke("mask", t["p.h5"], t["u.h5"], "--method", "unet", "--max-memory", "100M");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--max-memory 100M is too small for the U-Net", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("block by block, even its smallest blocks need about 261M", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("give at least 260M, or --block N", refused.Stderr, StringComparison.Ordinal); // in memory needs less here
        FolderSnapshot.AssertUnchanged(before, t.Path);

        var run = CliRunner.Invoke("mask", t["p.h5"], t["u.h5"], "--method", "unet", "--max-memory", "100M", "--block", "64");
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("block-wise U-Net", run.Stdout + run.Stderr, StringComparison.Ordinal);
        // The budget the refusal names suffices (one block is the whole volume here, so in memory needs less), and the
        // mask is the block-wise one.
        var whole = CliRunner.Invoke("mask", t["p.h5"], t["w.h5"], "--method", "unet", "--max-memory", "260M");
        Assert.True(whole.ExitCode == 0, whole.Stderr);
        Assert.DoesNotContain("block-wise", whole.Stdout + whole.Stderr, StringComparison.Ordinal);
        Assert.Equal(Mask(t["w.h5"]), Mask(t["u.h5"]));
    }

    [Fact]
    public void KilledRunResumesToTheUninterruptedMask()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "7", "--shape", "96", "192", "192", "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["ref.h5"], "--block", "32", .. Level0]).ExitCode);

        // Kill -9 once a few blocks are stored (a block file appears only when complete).
        string store = t[".out.h5.blocks"];
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "emmask.dll"), "mask", t["p.h5"], t["out.h5"], "--block", "32" }.Concat(Level0))
        {
            start.ArgumentList.Add(a);
        }

        using (var process = Process.Start(start)!)
        {
            var clock = Stopwatch.StartNew();
            while (!(Directory.Exists(store) && Directory.GetFiles(store, "*.block").Length >= 5) && !process.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                Thread.Sleep(20);
            }

            Assert.False(process.HasExited, "the run finished before it could be killed");
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }

        Assert.False(File.Exists(t["out.h5"]));
        int kept = Directory.GetFiles(store, "*.block").Length;
        Assert.True(kept >= 5, $"{kept} blocks stored");
        var resumed = CliRunner.Invoke(["mask", t["p.h5"], t["out.h5"], "--block", "32", "--resume", "--mode", "3d", "--level", "0", "--trachea-gap", "0", "--no-refine"]);
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains("finished earlier and resumed", resumed.Stdout + resumed.Stderr, StringComparison.Ordinal);
        Assert.Equal(Mask(t["ref.h5"]), Mask(t["out.h5"]));
        Assert.False(Directory.Exists(store));
        Assert.Empty(Directory.GetFiles(t.Path, "*" + ".tmp-" + "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void ResumingADifferentJobIsRefusedAndAFreshRunCleansUp()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "8", "--shape", "64", "96", "96", "-q").ExitCode);
        string store = t[".out.h5.blocks"];
        Directory.CreateDirectory(store);
        File.WriteAllText(Path.Combine(store, "manifest.txt"), "input: another volume\n");
        File.WriteAllText(Path.Combine(store, "z0_y0_x0.block"), "half");
        File.WriteAllText(Path.Combine(store, ".z0_y1_x0.block" + ".tmp-" + "1-x"), "torn");
        var refused = CliRunner.Invoke(["mask", t["p.h5"], t["out.h5"], "--block", "64", "--resume", .. Level0]);
        Assert.Equal(3, refused.ExitCode);
        Assert.Contains("cannot resume", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("was 'input: another volume'", refused.Stderr, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(store, "z0_y0_x0.block")), "a refused resume deletes nothing");

        var fresh = CliRunner.Invoke(["mask", t["p.h5"], t["out.h5"], "--block", "64", "--mode", "3d", "--level", "0"]);
        Assert.True(fresh.ExitCode == 0, fresh.Stderr);
        Assert.Contains("removed 1 blocks of an unfinished earlier run", fresh.Stdout + fresh.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(store));
    }

    [Theory]
    [InlineData("m_*.tif", new string[0], "block-wise runs write the mask into one HDF5, TIFF, npy or MRC file")]
    [InlineData("out.h5", new[] { "--confidence", "c_*.tif" }, "block-wise runs write the confidence map into one HDF5, TIFF, npy or MRC file")]
    [InlineData("out.h5", new[] { "--postprocess", "grow:3" }, "cannot run block-wise")]
    [InlineData("out.h5", new[] { "--level", "1", "--no-refine", "--block", "8" }, "smaller than the halo")]
    [InlineData("out.h5", new[] { "--block", "0" }, "--block 0 must be a positive")]
    [InlineData("out.h5", new[] { "--max-memory", "lots" }, "is not a size")]
    [InlineData("out.npy", new[] { "--multiscale", "2" }, "must be HDF5")]
    [InlineData("out.h5", new[] { "--multiscale", "9" }, "give 0 to 6 levels")]
    [InlineData("out.h5", new[] { "--level", "1", "--max-memory", "2M" }, "--max-memory 2M is too small")]
    public void RequestsThatCannotRunBlockwiseGetAClearErrorAndWriteNothing(string output, string[] extra, string message)
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "9", "--shape", "64", "64", "64", "-q").ExitCode);
        string[] args = ["mask", t["p.h5"], t[output], "--mode", "3d", .. extra];
        if (!extra.Contains("--block") && !extra.Contains("--max-memory"))
        {
            args = [.. args, "--block", "64"];
        }

        var run = CliRunner.Invoke(args);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains(message, run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(t[output]));
        Assert.False(File.Exists(t["c.h5"]));
    }

    private static byte[] Mask(string file, string dataset = "/mask") => ((Volume<byte>)VolumeReader.Read(VolumePath.Parse(file, dataset))).Span.ToArray();
}
