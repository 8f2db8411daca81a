using System.Globalization;
using System.Text.RegularExpressions;
using EmMask.Core.Volumes;
using EmMask.IO;

namespace EmMask.Cli.Tests;

/// <summary>
/// <c>emmask mask --block / --max-memory --confidence</c> into multi-page TIFF and npy: the block-wise HDF5 run's and
/// the in-memory run's mask and map, a 2D input's 2D arrays, and every existing file left as it was by a run that is
/// refused or fails.
/// </summary>
public partial class BlockwiseTiffNpyCommandTests
{
    // As BlockwiseCommandTests: small blocks at level 0, the trachea rule and the refinement off (no -q: the run's notes
    // name its blocks).
    private static readonly string[] Level0 = ["--mode", "3d", "--level", "0", "--trachea-gap", "0", "--no-refine"];

    [Theory]
    [InlineData(".npy")]
    [InlineData(".tif")]
    public void BlockwiseTiffAndNpyHoldTheBlockwiseHdf5AndInMemoryMaskAndMap(string extension)
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--shape", "40", "96", "96", "--seed", "3", "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["mem.h5"], "--confidence", t["mem-c.h5"], "-q", .. Level0]).ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["blk.h5"], "--block", "32", "--confidence", t["blk-c.h5"], "-q", .. Level0]).ExitCode);

        var run = CliRunner.Invoke(["mask", t["p.h5"], t["blk" + extension], "--block", "32", "--confidence", t["blk-c" + extension], .. Level0]);

        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.True(Blocks(run) > 1, run.Stdout + run.Stderr);
        var mask = Assert.IsType<Volume<byte>>(VolumeReader.Read(VolumePath.Parse(t["blk" + extension], "/mask")));
        var confidence = Assert.IsType<Volume<float>>(VolumeReader.Read(VolumePath.Parse(t["blk-c" + extension], "/confidence")));
        Assert.Equal(new Shape3(40, 96, 96), mask.Shape);
        Assert.Equal(Mask(t["blk.h5"]), mask.Span.ToArray());
        Assert.Equal(Mask(t["mem.h5"]), mask.Span.ToArray());
        Assert.Contains((byte)1, mask.Span.ToArray());
        Assert.Contains((byte)0, mask.Span.ToArray());
        Assert.Equal(Confidence(t["blk-c.h5"]), confidence.Span.ToArray());
        Assert.Equal(Confidence(t["mem-c.h5"]), confidence.Span.ToArray());
        Assert.Equal(VolumeReader.Read(VolumePath.Parse(t["mem.h5"], "/mask")).VoxelSize, mask.VoxelSize);

        // The attributes the block-wise HDF5 run stores, in the TIFF's description or the npy's sidecar.
        var stored = VolumeReader.ReadAttributes(VolumePath.Parse(t["blk.h5"], "/mask"));
        foreach (string file in new[] { "blk" + extension, "blk-c" + extension })
        {
            var attributes = VolumeReader.ReadAttributes(VolumePath.Parse(t[file], "/mask"));
            Assert.Equal("true", attributes["blockwise"]);
            Assert.Equal(stored.Where(a => a.Key != "element_size_um").OrderBy(a => a.Key), attributes.OrderBy(a => a.Key));
        }

        Assert.False(Directory.Exists(t[".blk" + extension + ".blocks"]));
        Assert.Empty(Directory.GetFiles(t.Path, "*.tmp-*", SearchOption.AllDirectories));
    }

    [Fact]
    public void AnMrcInputIsMaskedBlockByBlockIntoMrcAsItsHdf5Twin()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--shape", "40", "96", "96", "--seed", "3", "-q").ExitCode);
        var raw = VolumeReader.Read(VolumePath.Parse(t["p.h5"], "/raw"));
        raw.SetVoxelSize(new VoxelSize(40, 8, 8));
        VolumeWriter.Write(VolumePath.Parse(t["p2.h5"], "/raw"), raw, VolumeWriteOptions.Default);
        VolumeWriter.Write(new VolumePath(t["p.mrc"], null), raw, VolumeWriteOptions.Default);

        // Block-wise, the mask goes to MRC row by row and the blocks read the input by seeking.
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p2.h5"], t["h5.npy"], "--block", "32", "-q", .. Level0]).ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.mrc"], t["mrc.mrc"], "--block", "32", "-q", .. Level0]).ExitCode);

        var fromMrc = (Volume<byte>)VolumeReader.Read(new VolumePath(t["mrc.mrc"], null));
        Assert.Equal(Mask(t["h5.npy"]), fromMrc.Span.ToArray());
        Assert.Equal(40, fromMrc.VoxelSize.Z, 3); // the voxel size came from the MRC header and went back into it
    }

    [Fact]
    public void AZarrArrayIsMaskedInMemoryAndBlockByBlockIntoZarr()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--shape", "40", "96", "96", "--seed", "3", "-q").ExitCode);
        var raw = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["p.h5"], "/raw"));
        WriteRawZarr(t["p.zarr"], raw, (8, 40, 48));

        Assert.Equal(0, CliRunner.Invoke("mask", t["p.h5"], t["h5.npy"], "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["blk-h5.npy"], "--block", "32", "-q", .. Level0]).ExitCode);

        // Zarr in and out: in memory, block by block with the confidence map beside it, and by batch (the input's format).
        Assert.Equal(0, CliRunner.Invoke("mask", t["p.zarr"], t["m.zarr"], "-q").ExitCode);
        var streamed = CliRunner.Invoke(["mask", t["p.zarr"], t["blk.zarr"], "--block", "32", "--confidence", t["blk-c.zarr"], "-q", .. Level0]);
        Assert.True(streamed.ExitCode == 0, streamed.Stderr);
        var batch = CliRunner.Invoke("batch", t["p.zarr"], "--out-dir", t["masks"], "-q");
        Assert.True(batch.ExitCode == 0, batch.Stderr);
        Assert.Equal(Mask(t["h5.npy"]), Mask(t["m.zarr"]));
        Assert.Equal(Mask(t["h5.npy"]), Mask(Path.Combine(t["masks"], "p_mask.zarr")));
        Assert.Equal(Mask(t["blk-h5.npy"]), Mask(t["blk.zarr"]));
        Assert.Equal(new Shape3(40, 96, 96), VolumeReader.ReadShape(new VolumePath(t["blk-c.zarr"], null)));
        Assert.Equal("true", VolumeReader.ReadAttributes(new VolumePath(t["blk.zarr"], null))["blockwise"]);

        var exists = CliRunner.Invoke("mask", t["p.zarr"], t["m.zarr"], "-q");
        Assert.Equal(4, exists.ExitCode);
        Assert.Equal(Mask(t["h5.npy"]), Mask(t["m.zarr"]));
        Assert.Empty(Directory.GetFileSystemEntries(t.Path, ".*"));
    }

    // A Zarr v2 array of uint8 without a compressor, chunk files named z.y.x, as zarr-python writes it.
    private static void WriteRawZarr(string folder, Volume<byte> volume, (int Z, int Y, int X) chunk)
    {
        Directory.CreateDirectory(folder);
        var s = volume.Shape;
        File.WriteAllText(Path.Combine(folder, ".zarray"), $$"""
            {"zarr_format": 2, "shape": [{{s.Z}}, {{s.Y}}, {{s.X}}], "chunks": [{{chunk.Z}}, {{chunk.Y}}, {{chunk.X}}], "dtype": "|u1",
             "compressor": null, "fill_value": 0, "order": "C", "filters": null}
            """);
        for (int kz = 0; kz * chunk.Z < s.Z; kz++)
        {
            for (int ky = 0; ky * chunk.Y < s.Y; ky++)
            {
                for (int kx = 0; kx * chunk.X < s.X; kx++)
                {
                    var bytes = new byte[chunk.Z * chunk.Y * chunk.X]; // edge chunks are stored whole, padded
                    for (int z = 0; z < chunk.Z && (kz * chunk.Z) + z < s.Z; z++)
                    {
                        for (int y = 0; y < chunk.Y && (ky * chunk.Y) + y < s.Y; y++)
                        {
                            for (int x = 0; x < chunk.X && (kx * chunk.X) + x < s.X; x++)
                            {
                                bytes[(((z * chunk.Y) + y) * chunk.X) + x] = volume[(kz * chunk.Z) + z, (ky * chunk.Y) + y, (kx * chunk.X) + x];
                            }
                        }
                    }

                    File.WriteAllBytes(Path.Combine(folder, $"{kz}.{ky}.{kx}"), bytes);
                }
            }
        }
    }

    [Fact]
    public void A2DInputGivesA2DNpyMaskAndMapBlockwiseAsInMemory()
    {
        // One section stored as an (H, W) array: the block-wise mask and map are (H, W) arrays too, as in memory. In the
        // automatic 2D mode a block is the whole section, so the 3D mode's blocks of 64² are compared with the
        // block-wise HDF5 run as well (in that mode a single section masked block-wise differs from in memory by
        // itself, in HDF5 too).
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--shape", "1", "160", "160", "--seed", "4", "-q").ExitCode);
        Assert.Equal(2, VolumeReader.ReadRank(VolumePath.Parse(t["p.h5"], "/raw")));
        string[] level0 = [.. Level0[2..], "-q"];
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["mem.npy"], "--confidence", t["mem-c.npy"], .. level0]).ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["blk3.h5"], "--block", "64", "--confidence", t["blk3.h5:/confidence"], "--mode", "3d", .. level0]).ExitCode);

        var run = CliRunner.Invoke(["mask", t["p.h5"], t["blk.npy"], "--block", "64", "--confidence", t["blk-c.npy"], .. level0]);
        var blocks = CliRunner.Invoke(["mask", t["p.h5"], t["blk3.npy"], "--block", "64", "--confidence", t["blk3-c.npy"], .. Level0]);

        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.True(blocks.ExitCode == 0, blocks.Stderr);
        Assert.True(Blocks(blocks) > 1, blocks.Stdout + blocks.Stderr);
        foreach (string name in new[] { "blk", "blk3" })
        {
            Assert.Contains("'descr': '|u1', 'fortran_order': False, 'shape': (160, 160), }", NpyHeader(t[name + ".npy"]), StringComparison.Ordinal);
            Assert.Contains("'descr': '<f4', 'fortran_order': False, 'shape': (160, 160), }", NpyHeader(t[name + "-c.npy"]), StringComparison.Ordinal);
        }

        Assert.Equal(NpyHeader(t["mem.npy"]), NpyHeader(t["blk.npy"]));
        Assert.Equal(NpyHeader(t["mem-c.npy"]), NpyHeader(t["blk-c.npy"]));
        Assert.Equal(Mask(t["mem.npy"]), Mask(t["blk.npy"]));
        Assert.Equal(Confidence(t["mem-c.npy"]), Confidence(t["blk-c.npy"]));
        Assert.Contains((byte)1, Mask(t["blk.npy"]));
        Assert.Equal(Mask(t["blk3.h5"]), Mask(t["blk3.npy"]));
        Assert.Equal(Confidence(t["blk3.h5"]), Confidence(t["blk3-c.npy"]));
    }

    [Theory]
    [InlineData(".npy")]
    [InlineData(".tif")]
    public void ABlockwiseRunThatFailsAtTheWriteLeavesTheExistingMaskByteIdentical(string extension)
    {
        // The map's folder is missing: the mask's temp is complete when the map's cannot be made, and the mask (with its
        // sidecar) stays as the earlier run wrote it; the finished blocks stay for --resume.
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--shape", "40", "96", "96", "--seed", "3", "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["out" + extension], "--postprocess", "none", "-q", .. Level0]).ExitCode);
        var before = FolderSnapshot.Take(t.Path);

        var run = CliRunner.Invoke(["mask", t["p.h5"], t["out" + extension], "--block", "32", "--force", "--confidence", t[Path.Combine("missing", "c" + extension)], "-q", .. Level0]);

        Assert.Equal(3, run.ExitCode);
        Assert.Contains("does not exist", run.Stderr, StringComparison.Ordinal);
        var after = FolderSnapshot.Take(t.Path);
        foreach (var (name, bytes) in before)
        {
            Assert.True(after.TryGetValue(name, out var now) && bytes.AsSpan().SequenceEqual(now), $"{name} changed");
        }

        Assert.Empty(Directory.GetFiles(t.Path, "*.tmp-*", SearchOption.AllDirectories));
        Assert.True(Directory.Exists(t[".out" + extension + ".blocks"]), "the blocks stay for --resume");
    }

    [Theory]
    [InlineData(new[] { "out.tif", "--block", "32" }, 4, "out.tif already exists")]
    [InlineData(new[] { "new.npy", "--block", "32", "--confidence", "c.tif" }, 4, "c.tif already exists")]
    [InlineData(new[] { "new.npy", "--max-memory", "4M", "--confidence", "c.tif" }, 4, "c.tif already exists")]
    [InlineData(new[] { "out.npy", "--block", "32", "--multiscale", "1", "--force" }, 2, "must be HDF5")]
    [InlineData(new[] { "m_*.tif", "--block", "32", "--force" }, 2, "not into a PNG image or one file per section. Write one of those")]
    [InlineData(new[] { "out.npy", "--block", "32", "--confidence", "c_*.tif", "--force" }, 2, "not one file per section. Write one of those")]
    [InlineData(new[] { "out.tif", "--block", "32", "--confidence", "out.tif", "--force" }, 2, "is the mask's output")]
    public void RefusedTiffAndNpyOutputsLeaveEveryFileAsItWas(string[] arguments, int exitCode, string message)
    {
        // Existing TIFF and npy outputs (a mask with its sidecar, a map) and section files of the patterns: a refusal
        // comes before any compute, with no store, no temp file and every byte the same.
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--shape", "40", "96", "96", "--seed", "3", "-q").ExitCode);
        var small = new Volume<float>(new Shape3(2, 3, 4));
        small.Span.Fill(0.25f);
        var attributes = new VolumeWriteOptions { Attributes = new Dictionary<string, string> { ["run"] = "earlier" } };
        foreach (string name in new[] { "out.tif", "out.npy", "c.tif", "m_0000.tif", "c_0000.tif" })
        {
            VolumeWriter.Write(VolumePath.Parse(t[name], "/unused"), small, attributes);
        }

        var before = FolderSnapshot.Take(t.Path);
        var args = arguments.Select(a => a.Contains('.', StringComparison.Ordinal) ? t[a] : a);
        var run = CliRunner.Invoke(["mask", t["p.h5"], .. args, .. Level0]);

        Assert.Equal(exitCode, run.ExitCode);
        Assert.Contains(message, run.Stderr, StringComparison.Ordinal);
        FolderSnapshot.AssertUnchanged(before, t.Path);
    }

    // The number of blocks the run's note names ("block-wise: 9 blocks of ...").
    private static int Blocks(CliRunner.Run run) =>
        BlocksNote().Match(run.Stdout + run.Stderr) is { Success: true } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;

    [GeneratedRegex(@"block-wise: (\d+) blocks")]
    private static partial Regex BlocksNote();

    private static byte[] Mask(string file) => Assert.IsType<Volume<byte>>(VolumeReader.Read(VolumePath.Parse(file, "/mask"))).Span.ToArray();

    private static float[] Confidence(string file) => Assert.IsType<Volume<float>>(VolumeReader.Read(VolumePath.Parse(file, "/confidence"))).Span.ToArray();

    // The text of an npy file's header (its first 128 bytes hold it for these shapes).
    private static string NpyHeader(string file) => System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(file), 0, 128);
}
