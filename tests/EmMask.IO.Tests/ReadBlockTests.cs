using EmMask.Core.Volumes;
using EmMask.IO.Formats;

namespace EmMask.IO.Tests;

public class ReadBlockTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var name in new[] { "v.h5:/raw", "v.npy", "v.tif" })
        {
            foreach (var dtype in new[] { "uint8", "uint16", "float32" })
            {
                data.Add(name, dtype);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Block_EqualsTheCropOfTheWholeVolume(string name, string dtype)
    {
        using var dir = new TempDir();
        // 40 x 150 x 1100 crosses the 16 x 64 x 1024 chunk grid on every axis.
        var volume = Volumes.Make(dtype, new Shape3(40, 150, 1100), new VoxelSize(30, 6, 6));
        var path = VolumePath.Parse(dir.File(name), "/raw");
        VolumeWriter.Write(path, volume, VolumeWriteOptions.Default);

        foreach (var (offset, size) in new[]
        {
            ((0, 0, 0), new Shape3(40, 150, 1100)),
            ((13, 60, 1000), new Shape3(20, 70, 100)),
            ((39, 149, 1099), new Shape3(1, 1, 1)),
            ((5, 0, 3), new Shape3(1, 150, 1)),
        })
        {
            var block = VolumeReader.ReadBlock(path, offset, size);
            Volumes.AssertEqual(EmMask.Core.Volumes.VolumeRegions.Crop(volume, offset, size), block);
            Assert.Equal(volume.VoxelSize, block.VoxelSize);
        }
    }

    [Theory]
    [InlineData("i.h5:/img")]
    [InlineData("i.npy")]
    public void Block_Of2DImage(string name)
    {
        using var dir = new TempDir();
        var image = Volumes.Make("uint16", new Shape3(1, 300, 1500));
        var path = VolumePath.Parse(dir.File(name), "/raw");
        VolumeWriter.Write(path, image, VolumeWriteOptions.Default);

        var block = VolumeReader.ReadBlock(path, (0, 250, 1020), new Shape3(1, 50, 400));

        Volumes.AssertEqual(EmMask.Core.Volumes.VolumeRegions.Crop(image, (0, 250, 1020), new Shape3(1, 50, 400)), block);
        Assert.Throws<ArgumentOutOfRangeException>(() => VolumeReader.ReadBlock(path, (1, 0, 0), new Shape3(1, 1, 1)));
    }

    [Fact]
    public void FortranOrderedNpy_BlockIsCropped()
    {
        using var dir = new TempDir();
        string file = dir.File("f.npy");
        // 2 x 3 x 4 uint8 in Fortran order: element (z, y, x) = z + 2y + 6x.
        string header = "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3, 4), }";
        header = header.PadRight(64 - 10 - 1) + "\n";
        using (var stream = File.Create(file))
        {
            stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)header.Length, 0]);
            stream.Write(System.Text.Encoding.ASCII.GetBytes(header));
            stream.Write(Enumerable.Range(0, 24).Select(i => (byte)i).ToArray());
        }

        var block = (Volume<byte>)VolumeReader.ReadBlock(new VolumePath(file, null), (1, 1, 2), new Shape3(1, 2, 2));

        Assert.Equal(1 + 2 + 12, block[0, 0, 0]);
        Assert.Equal(1 + 4 + 18, block[0, 1, 1]);
    }
}

/// <summary>A block of a multi-page TIFF decodes only its own pages (block-wise runs and --sections never hold the stack).</summary>
public class TiffBlockTests
{
    // Five uint8 pages of 32 x 48, but page 3 is 16 x 48: a whole read is refused, blocks of other pages are not.
    private static string MismatchedStack(TempDir dir)
    {
        string file = dir.File("mixed.tif");
        using var tif = BitMiracle.LibTiff.Classic.Tiff.Open(file, "w");
        for (int page = 0; page < 5; page++)
        {
            int height = page == 3 ? 16 : 32;
            tif.SetField(BitMiracle.LibTiff.Classic.TiffTag.IMAGEWIDTH, 48);
            tif.SetField(BitMiracle.LibTiff.Classic.TiffTag.IMAGELENGTH, height);
            tif.SetField(BitMiracle.LibTiff.Classic.TiffTag.BITSPERSAMPLE, 8);
            tif.SetField(BitMiracle.LibTiff.Classic.TiffTag.SAMPLESPERPIXEL, 1);
            tif.SetField(BitMiracle.LibTiff.Classic.TiffTag.PHOTOMETRIC, BitMiracle.LibTiff.Classic.Photometric.MINISBLACK);
            tif.SetField(BitMiracle.LibTiff.Classic.TiffTag.ROWSPERSTRIP, height);
            tif.SetField(BitMiracle.LibTiff.Classic.TiffTag.PLANARCONFIG, BitMiracle.LibTiff.Classic.PlanarConfig.CONTIG);
            for (int y = 0; y < height; y++)
            {
                tif.WriteScanline([.. Enumerable.Range(0, 48).Select(x => (byte)((10 * page) + y + x))], y);
            }

            tif.WriteDirectory();
        }

        return file;
    }

    [Fact]
    public void OnlyTheBlocksPagesAreRead()
    {
        using var dir = new TempDir();
        var path = new VolumePath(MismatchedStack(dir), null);
        Assert.Contains("must match", Assert.Throws<VolumeFormatException>(() => VolumeReader.Read(path)).Message, StringComparison.Ordinal);

        var block = Assert.IsType<Volume<byte>>(VolumeReader.ReadBlock(path, (1, 2, 5), new Shape3(2, 3, 4)));
        Assert.Equal(new Shape3(2, 3, 4), block.Shape);
        Assert.Equal(10 + 2 + 5, block[0, 0, 0]);
        Assert.Equal(20 + 4 + 8, block[1, 2, 3]);
        var last = Assert.IsType<Volume<byte>>(VolumeReader.ReadBlock(path, (4, 0, 0), new Shape3(1, 32, 48)));
        Assert.Equal(40 + 31 + 47, last[0, 31, 47]);

        Assert.Contains("must match", Assert.Throws<VolumeFormatException>(() => VolumeReader.ReadBlock(path, (2, 0, 0), new Shape3(2, 8, 8))).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => VolumeReader.ReadBlock(path, (5, 0, 0), new Shape3(1, 1, 1)));
    }
}
