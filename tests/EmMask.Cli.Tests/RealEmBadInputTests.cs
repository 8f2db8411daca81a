using EmMask.Core.Evaluation;
using EmMask.Core.Phantom;
using EmMask.Core.Volumes;
using EmMask.IO;
using EmMask.IO.Formats;

namespace EmMask.Cli.Tests;

/// <summary>
/// The inputs real EM comes as: RGB and 16-bit sections, exact-constant and saturated borders, block (JPEG-like)
/// artefacts, one section, sections shifted against each other. Each gives a sensible mask of the input's shape, with a
/// message where something was assumed, and loses nothing.
/// </summary>
public class RealEmBadInputTests
{
    private static readonly PhantomVolume Phantom = EmPhantom.Generate(new PhantomOptions { Seed = 7, Shape = new Shape3(4, 160, 160), TissueFraction = 0.5 });

    private static Volume<byte> Section(Volume<byte> v, int z) => new(new Shape3(1, v.Shape.Y, v.Shape.X), v.Slice(z).ToArray());

    private static double Dice(string maskFile, Volume<byte> truth)
    {
        var mask = MaskOf(maskFile, truth.Shape);
        return MaskMetrics.Compute(mask, truth).Dice;
    }

    private static Volume<byte> MaskOf(string file, Shape3 shape)
    {
        var read = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(file, "/mask"));
        Assert.Equal(shape.Length, read.Shape.Length);
        return new Volume<byte>(shape, read.Span.ToArray());
    }

    private static void Save(string path, IVolume volume)
    {
        using var f = File.Create(path);
        NpyFormat.Write(f, volume);
    }

    private static int[] NpyShape(string path)
    {
        using var f = File.OpenRead(path);
        var shape = NpyFormat.ReadShape(f, path);
        f.Position = 0;
        return NpyFormat.ReadRank(f, path) == 2 ? [shape.Y, shape.X] : [shape.Z, shape.Y, shape.X];
    }

    [Fact]
    public void RgbSectionIsMaskedOnItsLuminance()
    {
        using var t = new TempFolder();
        var section = Section(Phantom.Raw, 1);
        var rgb = new byte[section.Span.Length * 3];
        for (int i = 0; i < section.Span.Length; i++)
        {
            rgb[(3 * i) + 0] = section.Span[i];
            rgb[(3 * i) + 1] = (byte)Math.Min(255, section.Span[i] + 10);
            rgb[(3 * i) + 2] = (byte)Math.Max(0, section.Span[i] - 10);
        }

        NpyCraft.Write(t["rgb.npy"], "|u1", [160, 160, 3], rgb);
        var run = CliRunner.Invoke("mask", t["rgb.npy"], t["m.npy"]);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("colour image", run.Stderr, StringComparison.Ordinal);
        Assert.Equal([160, 160], NpyShape(t["m.npy"]));
        Assert.True(Dice(t["m.npy"], Section(Phantom.Truth, 1)) > 0.85);

        // The same image as an RGB TIFF (as Fiji exports it) gives the same mask, as a one-page TIFF.
        WriteRgbTiff(t["rgb.tif"], 160, 160, rgb);
        run = CliRunner.Invoke("mask", t["rgb.tif"], t["m.tif"]);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("colour image", run.Stderr, StringComparison.Ordinal);
        var fromTiff = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["m.tif"], "/mask"));
        Assert.Equal(new Shape3(1, 160, 160), fromTiff.Shape);
        Assert.Equal(MaskOf(t["m.npy"], fromTiff.Shape).Span.ToArray(), fromTiff.Span.ToArray());
    }

    [Fact]
    public void AColourStackIsMaskedOnTheLuminanceOfEachSectionInMemoryAndBlockByBlock()
    {
        // (Z, Y, X, 3) uint8 as numpy saves an RGB stack: the mask is (Z, Y, X), a warning says so, and it is the mask
        // of the luminance given as a grey float32 stack. Until 2026-12-07 a colour stack was refused.
        using var t = new TempFolder();
        var raw = Phantom.Raw;
        var rgb = new byte[raw.Span.Length * 3];
        var grey = new Volume<float>(raw.Shape);
        for (int i = 0; i < raw.Span.Length; i++)
        {
            byte r = raw.Span[i], g = (byte)Math.Min(255, raw.Span[i] + 10), b = (byte)Math.Max(0, raw.Span[i] - 10);
            (rgb[3 * i], rgb[(3 * i) + 1], rgb[(3 * i) + 2]) = (r, g, b);
            grey.Span[i] = (float)((0.299 * r) + (0.587 * g) + (0.114 * b));
        }

        NpyCraft.Write(t["rgb.npy"], "|u1", [4, 160, 160, 3], rgb);
        Save(t["grey.npy"], grey);
        var run = CliRunner.Invoke("mask", t["rgb.npy"], t["m.npy"]);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("rgb.npy is a colour stack: masked the luminance", run.Stderr, StringComparison.Ordinal);
        Assert.Equal([4, 160, 160], NpyShape(t["m.npy"]));
        Assert.Equal(0, CliRunner.Invoke("mask", t["grey.npy"], t["g.npy"], "-q").ExitCode);
        var mask = MaskOf(t["m.npy"], raw.Shape);
        Assert.Equal(MaskOf(t["g.npy"], raw.Shape).Span.ToArray(), mask.Span.ToArray());
        Assert.True(MaskMetrics.Compute(mask, Phantom.Truth).Dice > 0.85);

        run = CliRunner.Invoke("mask", t["rgb.npy"], t["b.npy"], "--block", "64");
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("is a colour stack", run.Stderr, StringComparison.Ordinal);
        Assert.Equal(mask.Span.ToArray(), MaskOf(t["b.npy"], raw.Shape).Span.ToArray());
    }

    [Fact]
    public void ASectionAsPngOrJpegIsMaskedAndTheMaskMayBeAPng()
    {
        using var t = new TempFolder();
        var section = Section(Phantom.Raw, 2);
        var truth = Section(Phantom.Truth, 2);
        Save(t["s.npy"], section);
        VolumeWriter.Write(VolumePath.Parse(t["s.png"], "/raw"), section, new VolumeWriteOptions());
        using (var bitmap = new SkiaSharp.SKBitmap(new SkiaSharp.SKImageInfo(160, 160, SkiaSharp.SKColorType.Gray8, SkiaSharp.SKAlphaType.Opaque)))
        {
            System.Runtime.InteropServices.Marshal.Copy(section.Span.ToArray(), 0, bitmap.GetPixels(), section.Span.Length);
            using var jpeg = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 85);
            File.WriteAllBytes(t["s.jpg"], jpeg.ToArray());
        }

        Assert.Equal(0, CliRunner.Invoke("mask", t["s.npy"], t["m.npy"]).ExitCode);
        var fromPng = CliRunner.Invoke("mask", t["s.png"], t["m.png"]);
        Assert.Equal(0, fromPng.ExitCode);
        Assert.Equal(MaskOf(t["m.npy"], truth.Shape).Span.ToArray(), MaskOf(t["m.png"], truth.Shape).Span.ToArray());
        Assert.Equal([1, 160, 160], NpyShape(t["m.npy"])); // the mask keeps each input's shape: (1, H, W) from the npy

        var fromJpeg = CliRunner.Invoke("mask", t["s.jpg"], t["j.npy"]);
        Assert.Equal(0, fromJpeg.ExitCode);
        Assert.Equal([160, 160], NpyShape(t["j.npy"]));
        Assert.True(Dice(t["j.npy"], truth) > 0.85, $"JPEG section: Dice {Dice(t["j.npy"], truth):F3}");
    }

    [Fact]
    public void AnImageOutputThatCannotHoldTheResultFailsBeforeAnyComputeAndWritesNothing()
    {
        using var t = new TempFolder();
        Save(t["stack.npy"], Phantom.Raw);
        VolumeWriter.Write(VolumePath.Parse(t["s.png"], "/raw"), Section(Phantom.Raw, 0), new VolumeWriteOptions());
        foreach (var (args, fragment) in new (string[], string)[]
        {
            (["mask", t["stack.npy"], t["m.png"]], "4 section(s)"),
            (["mask", t["s.png"], t["m.jpg"]], "read only"),
            (["mask", t["s.png"], t["m.npy"], "--confidence", t["c.png"]], "float32"),
        })
        {
            var run = CliRunner.Invoke(args);
            Assert.NotEqual(0, run.ExitCode);
            Assert.Contains(fragment, run.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", run.Stderr, StringComparison.Ordinal);
        }

        Assert.False(File.Exists(t["m.png"]) || File.Exists(t["m.jpg"]) || File.Exists(t["m.npy"]) || File.Exists(t["c.png"]));
    }

    [Fact]
    public void AFolderOfSectionFilesIsMaskedAsOneStackInMemoryAndBlockByBlock()
    {
        using var t = new TempFolder();
        string folder = t["sections"];
        Directory.CreateDirectory(folder);
        for (int z = 0; z < Phantom.Raw.Shape.Z; z++)
        {
            VolumeWriter.Write(VolumePath.Parse(Path.Combine(folder, $"section_{z + 1}.png"), "/raw"), Section(Phantom.Raw, z), new VolumeWriteOptions());
        }

        Save(t["stack.npy"], Phantom.Raw);
        Assert.Equal(0, CliRunner.Invoke("mask", t["stack.npy"], t["m.npy"], "-q").ExitCode);
        var run = CliRunner.Invoke("mask", folder, t["m.h5"], "-q");
        Assert.Equal(0, run.ExitCode);
        var mask = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["m.h5"], "/mask"));
        Assert.Equal(Phantom.Raw.Shape, mask.Shape);
        Assert.Equal(MaskOf(t["m.npy"], mask.Shape).Span.ToArray(), mask.Span.ToArray());

        run = CliRunner.Invoke("mask", Path.Combine(folder, "section_*.png"), t["b.h5"], "--block", "64", "-q");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(mask.Span.ToArray(), ((Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["b.h5"], "/mask"))).Span.ToArray());

        // One mask file per section through a pattern, read back as the same stack.
        Directory.CreateDirectory(t["masks"]);
        run = CliRunner.Invoke("mask", folder, Path.Combine(t["masks"], "m_*.png"), "-q");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(4, Directory.GetFiles(t["masks"]).Length);
        Assert.Equal(mask.Span.ToArray(), ((Volume<byte>)VolumeReader.Read(VolumePath.Parse(Path.Combine(t["masks"], "m_*.png"), "/mask"))).Span.ToArray());

        // A section of the input is never an output, nor a pattern that names them; a folder needs a pattern.
        string first = Path.Combine(folder, "section_1.png");
        byte[] before = File.ReadAllBytes(first);
        foreach (var (output, fragment) in new[] { (first, "names sections of the input"), (Path.Combine(folder, "section_*.png"), "names sections of the input"), (t["out"], "pattern with one *") })
        {
            Directory.CreateDirectory(t["out"]);
            run = CliRunner.Invoke("mask", folder, output, "--force");
            Assert.NotEqual(0, run.ExitCode);
            Assert.Contains(fragment, run.Stderr, StringComparison.Ordinal);
        }

        Assert.Equal(before, File.ReadAllBytes(first));
    }

    [Fact]
    public void APatternOutputWarnsOfFilesAnEarlierLongerRunLeftAndKeepsThem()
    {
        // --force replaces the files this run writes; files of the pattern beyond them would be stacked by a later read.
        using var t = new TempFolder();
        Save(t["stack.npy"], Phantom.Raw);
        Directory.CreateDirectory(t["masks"]);
        string pattern = Path.Combine(t["masks"], "m_*.png");
        var run = CliRunner.Invoke("mask", t["stack.npy"], pattern, "-q");
        Assert.Equal(0, run.ExitCode);
        Assert.DoesNotContain("left as they are", run.Stderr, StringComparison.Ordinal);
        string stale = Path.Combine(t["masks"], $"m_{Phantom.Raw.Shape.Z + 3:D4}.png");
        File.Copy(Path.Combine(t["masks"], "m_0000.png"), stale);
        byte[] kept = File.ReadAllBytes(stale);

        run = CliRunner.Invoke("mask", t["stack.npy"], pattern, "--force", "-q");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("1 other file match", run.Stderr, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(stale), run.Stderr, StringComparison.Ordinal);
        Assert.Equal(kept, File.ReadAllBytes(stale));

        Assert.Equal(0, CliRunner.Invoke("mask", t["stack.npy"], t["m.npy"], "-q").ExitCode);
        run = CliRunner.Invoke("postprocess", t["m.npy"], pattern, "fill2d", "--force");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("1 other file match", run.Stderr, StringComparison.Ordinal);
        Assert.Equal(kept, File.ReadAllBytes(stale));
    }

    private static void WriteRgbTiff(string path, int height, int width, byte[] rgb)
    {
        using var tif = BitMiracle.LibTiff.Classic.Tiff.Open(path, "w") ?? throw new IOException($"cannot create {path}");
        tif.SetField(BitMiracle.LibTiff.Classic.TiffTag.IMAGEWIDTH, width);
        tif.SetField(BitMiracle.LibTiff.Classic.TiffTag.IMAGELENGTH, height);
        tif.SetField(BitMiracle.LibTiff.Classic.TiffTag.SAMPLESPERPIXEL, 3);
        tif.SetField(BitMiracle.LibTiff.Classic.TiffTag.BITSPERSAMPLE, 8);
        tif.SetField(BitMiracle.LibTiff.Classic.TiffTag.PHOTOMETRIC, BitMiracle.LibTiff.Classic.Photometric.RGB);
        tif.SetField(BitMiracle.LibTiff.Classic.TiffTag.PLANARCONFIG, BitMiracle.LibTiff.Classic.PlanarConfig.CONTIG);
        tif.SetField(BitMiracle.LibTiff.Classic.TiffTag.ROWSPERSTRIP, height);
        for (int y = 0; y < height; y++)
        {
            tif.WriteScanline(rgb.AsSpan(y * width * 3, width * 3).ToArray(), y);
        }
    }

    [Fact]
    public void SixteenBitSingleSectionKeepsItsShape()
    {
        using var t = new TempFolder();
        var section = Section(Phantom.Raw, 2);
        var wide = new Volume<ushort>(section.Shape, section.Span.ToArray().Select(b => (ushort)((b * 257) + 3)).ToArray());
        Save(t["u16.npy"], wide);
        Assert.Equal(0, CliRunner.Invoke("mask", t["u16.npy"], t["m.npy"], "-q").ExitCode);
        Assert.Equal([1, 160, 160], NpyShape(t["m.npy"]));
        Assert.True(Dice(t["m.npy"], Section(Phantom.Truth, 2)) > 0.85);
    }

    [Fact]
    public void OneSectionKeepsItsShapeBlockByBlockAndThroughPostprocess()
    {
        // (1, H, W) stays (1, H, W) and (H, W) stays (H, W) on every path that writes a mask, in memory or not.
        using var t = new TempFolder();
        var section = Section(Phantom.Raw, 2);
        Save(t["s3.npy"], section);
        NpyCraft.Write(t["s2.npy"], "|u1", [160, 160], section.Span.ToArray());
        foreach (var (input, shape) in new[] { ("s3.npy", new[] { 1, 160, 160 }), ("s2.npy", new[] { 160, 160 }) })
        {
            string name = Path.GetFileNameWithoutExtension(input);
            Assert.Equal(0, CliRunner.Invoke("mask", t[input], t[$"{name}_block.h5"], "--block", "64", "-q").ExitCode);
            Assert.Equal(0, CliRunner.Invoke("mask", t[input], t[$"{name}_unet.h5"], "--method", "unet", "--model", "builtin:identity", "--block", "64", "-q").ExitCode);
            Assert.Equal(0, CliRunner.Invoke("mask", t[input], t[$"{name}_m.npy"], "-q").ExitCode);
            Assert.Equal(0, CliRunner.Invoke("postprocess", t[$"{name}_m.npy"], t[$"{name}_post.npy"], "fill2d").ExitCode);
            Assert.Equal(shape, NpyShape(t[$"{name}_m.npy"]));
            Assert.Equal(shape, NpyShape(t[$"{name}_post.npy"]));
            Assert.Equal(shape, H5Shape(t[$"{name}_block.h5"]));
            Assert.Equal(shape, H5Shape(t[$"{name}_unet.h5"]));
        }
    }

    [Fact]
    public void AxesOfLengthOneAndBigEndianNpyAreMaskedAndTheMaskKeepsTheStoredShape()
    {
        // (1, Z, Y, X) and ilastik's (Z, Y, X, 1) are read as (Z, Y, X), an (H, W, 1) image as (H, W); big-endian
        // numbers are byte-swapped. The mask
        // is the one of the plain volume, stored with the input's own shape, in memory, block by block and after
        // postprocess.
        using var t = new TempFolder();
        var raw = Phantom.Raw;
        var wide = new Volume<ushort>(raw.Shape, [.. raw.Span.ToArray().Select(b => (ushort)((b * 257) + 3))]);
        var bigEndian = new byte[wide.Span.Length * 2];
        for (int i = 0; i < wide.Span.Length; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(bigEndian.AsSpan(2 * i), wide.Span[i]);
        }

        Save(t["zyx.npy"], raw);
        Save(t["u16.npy"], wide);
        NpyCraft.Write(t["tzyx.npy"], "|u1", [1, 4, 160, 160], raw.Span.ToArray());
        NpyCraft.Write(t["be.npy"], ">u2", [4, 160, 160, 1], bigEndian);
        Save(t["s.npy"], Section(raw, 2));
        NpyCraft.Write(t["hw1.npy"], "|u1", [160, 160, 1], Section(raw, 2).Span.ToArray()); // a grey image with a channel axis
        foreach (var (input, output) in new[] { ("zyx.npy", "m_zyx.npy"), ("u16.npy", "m_u16.npy"), ("tzyx.npy", "m_tzyx.npy"), ("be.npy", "m_be.npy"), ("s.npy", "m_s.npy"), ("hw1.npy", "m_hw1.npy") })
        {
            Assert.Equal(0, CliRunner.Invoke("mask", t[input], t[output], "-q").ExitCode);
        }

        Assert.Equal(0, CliRunner.Invoke("mask", t["tzyx.npy"], t["block.h5"], "--block", "64", "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke("postprocess", t["m_tzyx.npy"], t["post.npy"], "fill2d").ExitCode);

        Assert.Equal(new long[] { 1, 4, 160, 160 }, VolumeReader.ReadStoredDimensions(new VolumePath(t["m_tzyx.npy"], null)));
        Assert.Equal(new long[] { 1, 4, 160, 160 }, VolumeReader.ReadStoredDimensions(new VolumePath(t["post.npy"], null)));
        Assert.Equal(new long[] { 1, 4, 160, 160 }, VolumeReader.ReadStoredDimensions(VolumePath.Parse(t["block.h5"], "/mask")));
        Assert.Equal(new long[] { 4, 160, 160, 1 }, VolumeReader.ReadStoredDimensions(new VolumePath(t["m_be.npy"], null)));
        Assert.Equal(MaskOf(t["m_zyx.npy"], raw.Shape).Span.ToArray(), MaskOf(t["m_tzyx.npy"], raw.Shape).Span.ToArray());
        Assert.Equal(MaskOf(t["m_u16.npy"], raw.Shape).Span.ToArray(), MaskOf(t["m_be.npy"], raw.Shape).Span.ToArray());
        Assert.True(Dice(t["m_be.npy"], Phantom.Truth) > 0.85);
        Assert.Equal(new long[] { 160, 160, 1 }, VolumeReader.ReadStoredDimensions(new VolumePath(t["m_hw1.npy"], null)));
        Assert.Equal(MaskOf(t["m_s.npy"], new Shape3(1, 160, 160)).Span.ToArray(), MaskOf(t["m_hw1.npy"], new Shape3(1, 160, 160)).Span.ToArray());
    }

    private static int[] H5Shape(string path)
    {
        var mask = VolumePath.Parse(path, "/mask");
        var shape = VolumeReader.Read(mask).Shape;
        return VolumeReader.ReadRank(mask) == 2 ? [shape.Y, shape.X] : [shape.Z, shape.Y, shape.X];
    }

    [Theory]
    [InlineData(0)]
    [InlineData(255)]
    public void ConstantOrSaturatedBorderIsNonBrainAndNamed(byte value)
    {
        using var t = new TempFolder();
        var raw = Phantom.Raw.Clone();
        var truth = Phantom.Truth.Clone();
        for (int z = 0; z < 4; z++)
        {
            for (int y = 0; y < 160; y++)
            {
                for (int x = 120; x < 160; x++)
                {
                    raw[z, y, x] = value;
                    truth[z, y, x] = 0;
                }
            }
        }

        Save(t["pad.npy"], raw);
        var run = CliRunner.Invoke("mask", t["pad.npy"], t["m.npy"]);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("padding", run.Stderr, StringComparison.Ordinal);
        var mask = MaskOf(t["m.npy"], raw.Shape);
        for (int y = 0; y < 160; y++)
        {
            for (int x = 120; x < 160; x++)
            {
                Assert.Equal(0, mask[1, y, x]);
            }
        }

        Assert.True(MaskMetrics.Compute(mask, truth).Dice > 0.85);
    }

    [Fact]
    public void BlockArtefactsStillGiveASensibleMask()
    {
        using var t = new TempFolder();
        // JPEG-like: each 8×8 block pulled half-way to its own mean and quantised to steps of 6.
        var raw = Phantom.Raw.Clone();
        for (int z = 0; z < 4; z++)
        {
            for (int by = 0; by < 160; by += 8)
            {
                for (int bx = 0; bx < 160; bx += 8)
                {
                    double mean = 0;
                    for (int y = by; y < by + 8; y++)
                    {
                        for (int x = bx; x < bx + 8; x++)
                        {
                            mean += raw[z, y, x] / 64.0;
                        }
                    }

                    for (int y = by; y < by + 8; y++)
                    {
                        for (int x = bx; x < bx + 8; x++)
                        {
                            raw[z, y, x] = (byte)Math.Clamp(Math.Round((0.5 * (raw[z, y, x] + mean)) / 6) * 6, 0, 255);
                        }
                    }
                }
            }
        }

        Save(t["jpeg.npy"], raw);
        Assert.Equal(0, CliRunner.Invoke("mask", t["jpeg.npy"], t["m.npy"], "-q").ExitCode);
        Assert.True(Dice(t["m.npy"], Phantom.Truth) > 0.8);
    }

    [Fact]
    public void ShiftedSectionsAreMaskedOneByOne()
    {
        using var t = new TempFolder();
        // Each section shifted by a different offset, the uncovered part filled with 0 as an aligner does; the truth shifts with it.
        var raw = Phantom.Raw.Clone();
        var truth = Phantom.Truth.Clone();
        int[] shifts = [0, 17, -11, 29];
        for (int z = 0; z < 4; z++)
        {
            for (int y = 0; y < 160; y++)
            {
                for (int x = 0; x < 160; x++)
                {
                    int sx = x - shifts[z];
                    bool inside = sx >= 0 && sx < 160;
                    raw[z, y, x] = inside ? Phantom.Raw[z, y, sx] : (byte)0;
                    truth[z, y, x] = inside ? Phantom.Truth[z, y, sx] : (byte)0;
                }
            }
        }

        Save(t["shifted.npy"], raw);
        var run = CliRunner.Invoke("mask", t["shifted.npy"], t["m.npy"]);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("mode 2d", run.Stderr, StringComparison.Ordinal);
        double dice = Dice(t["m.npy"], truth);
        Assert.True(dice > 0.85, $"dice {dice:F3}; {run.Stderr}");
    }
}
