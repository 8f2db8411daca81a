using EmMask.Core.Volumes;

namespace EmMask.IO.Tests;

/// <summary>Every unreadable input is one VolumeFormatException line that names the file and the problem.</summary>
public class BadInputTests
{
    private static VolumeFormatException ReadFails(string path, params string[] fragments)
    {
        var ex = Assert.Throws<VolumeFormatException>(() => VolumeReader.Read(VolumePath.Parse(path, "/raw")));
        Assert.DoesNotContain('\n', ex.Message);
        Assert.Contains(VolumePath.Parse(path, "/raw").File, ex.Message);
        foreach (var f in fragments)
        {
            Assert.Contains(f, ex.Message);
        }

        return ex;
    }

    [Theory]
    [InlineData("missing.h5")]
    [InlineData("missing.tif")]
    [InlineData("missing.npy")]
    public void MissingFile(string name)
    {
        using var dir = new TempDir();
        ReadFails(dir.File(name), "file not found");
    }

    [Theory]
    [InlineData("text.h5", "not an HDF5 file")]
    [InlineData("text.tif", "not a TIFF file")]
    [InlineData("text.npy", "not a .npy file")]
    public void TextFileWithVolumeExtension(string name, string problem)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File(name), "hello, I am a text file\nwith two lines\n");
        ReadFails(dir.File(name), problem);
    }

    [Theory]
    [InlineData("empty.h5")]
    [InlineData("empty.tif")]
    [InlineData("empty.npy")]
    public void EmptyFile(string name)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File(name), []);
        ReadFails(dir.File(name));
    }

    [Fact]
    public void MissingDataset_ListsTheDatasetsThatExist()
    {
        using var dir = new TempDir();
        string file = dir.File("a.h5");
        VolumeWriter.WriteMany(file, [("/raw", Volumes.Make("uint8", new Shape3(2, 3, 4)), null), ("/g/mask", Volumes.Make("uint8", new Shape3(2, 3, 4)), null)], VolumeWriteOptions.Default);

        ReadFails(file + ":/nope", "'/nope' not found", "/raw", "/g/mask");
        ReadFails(file + ":/g/x/y", "not found");
        ReadFails(file + ":/g", "is a group");
    }

    [Fact]
    public void TruncatedHdf5()
    {
        using var dir = new TempDir();
        string file = dir.File("t.h5");
        VolumeWriter.Write(new VolumePath(file, "/raw"), Volumes.Make("float32", new Shape3(20, 50, 60)), VolumeWriteOptions.Default);
        var bytes = File.ReadAllBytes(file);
        foreach (int keep in new[] { 40, 800, bytes.Length / 2, bytes.Length - 100 })
        {
            File.WriteAllBytes(file, bytes[..keep]);
            ReadFails(file + ":/raw");
        }
    }

    [Fact]
    public void CorruptHdf5Chunks()
    {
        using var dir = new TempDir();
        string file = dir.File("c.h5");
        VolumeWriter.Write(new VolumePath(file, "/raw"), Volumes.Make("float32", new Shape3(20, 50, 60)), VolumeWriteOptions.Default);
        var bytes = File.ReadAllBytes(file);
        for (int i = bytes.Length / 2; i < bytes.Length / 2 + 4000; i++)
        {
            bytes[i] ^= 0x5A;
        }

        File.WriteAllBytes(file, bytes);
        ReadFails(file + ":/raw");
    }

    [Fact]
    public void TruncatedTiffAndNpy()
    {
        using var dir = new TempDir();
        foreach (var name in new[] { "t.tif", "t.npy" })
        {
            string file = dir.File(name);
            VolumeWriter.Write(new VolumePath(file, null), Volumes.Make("uint16", new Shape3(4, 50, 60)), VolumeWriteOptions.Default);
            var bytes = File.ReadAllBytes(file);
            File.WriteAllBytes(file, bytes[..(bytes.Length / 2)]);
            ReadFails(file);
        }
    }

    [H5pyFact]
    public void Hdf5WrongRankTypeAndEmptyAxis()
    {
        using var dir = new TempDir();
        string file = dir.File("bad.h5");
        Python.Run(
            """
            import sys, h5py, numpy as np
            with h5py.File(sys.argv[1], 'w') as f:
                f['d4'] = np.zeros((2, 3, 4, 5), 'u1')
                f['d1'] = np.zeros(7, 'u1')
                f['scalar'] = np.float32(1)
                f['complex'] = np.zeros((2, 3, 4), 'c8')
                f['strings'] = np.array([[b'ab', b'cd']] * 2)
                f['vlen'] = np.array([['x', 'y']] * 2, dtype=h5py.string_dtype())
                f['record'] = np.zeros((2, 3), dtype=[('a', 'i4'), ('b', 'f4')])
                f['empty'] = np.zeros((0, 5, 5), 'u1')
                f['big_int32'] = np.full((2, 3, 4), 2**25, 'i4')
                f['float16'] = np.zeros((2, 3, 4), 'f2')
                f['rgb'] = np.zeros((2, 8, 8, 3), 'u1')
            """,
            file);

        ReadFails(file + ":/d4", "expected 2D or 3D, got 4D shape (2, 3, 4, 5)", "Axes beyond (Z, Y, X) must have length 1");
        ReadFails(file + ":/rgb", "got 4D shape (2, 8, 8, 3). It looks like a colour stack", "Fiji: Image > Type > 8-bit");
        Assert.DoesNotContain("colour", Assert.Throws<VolumeFormatException>(() => VolumeReader.Read(VolumePath.Parse(file + ":/d4", "/raw"))).Message, StringComparison.Ordinal);
        ReadFails(file + ":/d1", "got 1D shape (7)");
        ReadFails(file + ":/scalar", "got 0D");
        ReadFails(file + ":/complex", "compound");
        ReadFails(file + ":/strings", "string");
        ReadFails(file + ":/vlen", "dtype");
        ReadFails(file + ":/record", "compound");
        ReadFails(file + ":/empty", "0-length axis");
        ReadFails(file + ":/big_int32", "int32", "2^24");
        ReadFails(file + ":/float16", "float16");
    }

    [Fact]
    public void NpyWrongRankTypeAndEmptyAxis()
    {
        using var dir = new TempDir();
        WriteNpy(dir.File("d4.npy"), "<u2", "(2, 3, 4, 5)", 2 * 120);
        WriteNpy(dir.File("d1.npy"), "|u1", "(7,)", 7);
        WriteNpy(dir.File("rgba.npy"), "|u1", "(2, 8, 8, 4)", 2 * 256);
        WriteNpy(dir.File("rgbf.npy"), "|u1", "(2, 8, 8, 3)", 2 * 192, fortran: true);
        WriteNpy(dir.File("c.npy"), "<c8", "(2, 3, 4)", 8 * 24);
        WriteNpy(dir.File("s.npy"), "<U3", "(2, 3)", 12 * 6);
        WriteNpy(dir.File("e.npy"), "|u1", "(0, 5, 5)", 0);
        WriteNpy(dir.File("be.npy"), ">u2", "(2, 3)", 12);
        WriteNpy(dir.File("i2.npy"), "<i2", "(2, 3)", 12);

        ReadFails(dir.File("d4.npy"), "expected 2D or 3D, got 4D shape (2, 3, 4, 5)");
        Assert.Equal(new Shape3(2, 8, 8), VolumeReader.Read(new VolumePath(dir.File("rgba.npy"), null)).Shape); // a colour stack: its luminance
        ReadFails(dir.File("rgbf.npy"), "got 4D shape (2, 8, 8, 3). It looks like a colour stack", "C-ordered .npy");
        ReadFails(dir.File("d1.npy"), "got 1D shape (7)");
        ReadFails(dir.File("c.npy"), "complex");
        ReadFails(dir.File("s.npy"), "strings");
        ReadFails(dir.File("e.npy"), "0-length axis");
        Assert.Equal(VoxelType.UInt16, VolumeReader.Read(new VolumePath(dir.File("be.npy"), null)).VoxelType); // big-endian: byte-swapped
        WriteNpy(dir.File("bef2.npy"), ">f2", "(2, 3)", 12);
        ReadFails(dir.File("bef2.npy"), "'>f2'"); // the message names the dtype as stored
        ReadFails(dir.File("d4.npy"), "Axes beyond (Z, Y, X) must have length 1");
        Assert.Equal(VoxelType.Float32, VolumeReader.Read(new VolumePath(dir.File("i2.npy"), null)).VoxelType);
    }

    [TifffileFact]
    public void TiffRgbIsReadAsAnImageOfThreeChannelsAndAColourStackAsItsLuminance()
    {
        // One RGB page reads as a colour .npy does: (H, W, 3) uint8, which the CLI masks on its luminance.
        using var dir = new TempDir();
        string file = dir.File("rgb.tif");
        Python.Run(
            """
            import sys, numpy as np, tifffile
            a = np.zeros((20, 30, 3), 'u1'); a[..., 0] = 10; a[..., 1] = np.arange(30); a[3, 4, 2] = 200
            tifffile.imwrite(sys.argv[1], a, photometric='rgb')
            tifffile.imwrite(sys.argv[2], np.zeros((2, 20, 30, 3), 'u1'), photometric='rgb')
            tifffile.imwrite(sys.argv[3], np.zeros((20, 30, 3), 'u2'), photometric='rgb')
            """, file, dir.File("rgb2.tif"), dir.File("rgb16.tif"));
        var path = new VolumePath(file, null);
        var rgb = Assert.IsType<Volume<byte>>(VolumeReader.Read(path));
        Assert.Equal(new Shape3(20, 30, 3), rgb.Shape);
        Assert.Equal(new Shape3(20, 30, 3), VolumeReader.ReadShape(path));
        Assert.Equal(3, VolumeReader.ReadRank(path));
        Assert.Equal(10, rgb[5, 7, 0]);
        Assert.Equal(7, rgb[5, 7, 1]);
        Assert.Equal(200, rgb[3, 4, 2]);
        Assert.Equal(0, rgb[3, 5, 2]);

        Assert.Equal(new Shape3(2, 20, 30), VolumeReader.Read(new VolumePath(dir.File("rgb2.tif"), null)).Shape);
        ReadFails(dir.File("rgb16.tif"), "3 samples per pixel", "16-bit");
    }

    [TifffileFact]
    public void TifffileStacksAreRead()
    {
        using var dir = new TempDir();
        string file = dir.File("stack.tif");
        Python.Run(
            """
            import sys, numpy as np, tifffile
            a = (np.arange(5 * 70 * 90) % 251).astype('u1').reshape(5, 70, 90)
            tifffile.imwrite(sys.argv[1], a, compression='zlib', tile=(32, 32))
            tifffile.imwrite(sys.argv[2], a.astype('i2') - 100)
            """,
            file,
            dir.File("i2.tif"));

        var expected = Volumes.Fill<byte>(new Shape3(5, 70, 90), null, i => (byte)(i % 251));
        Volumes.AssertEqual(expected, VolumeReader.Read(new VolumePath(file, null)));
        var converted = (Volume<float>)VolumeReader.Read(new VolumePath(dir.File("i2.tif"), null));
        Assert.Equal(-100f, converted[0, 0, 0]);
        Assert.Equal((float)(((4 * 70 * 90) + (69 * 90) + 89) % 251) - 100, converted[4, 69, 89]);
    }

    [TifffileFact]
    public void TifffileReadsOurStacks()
    {
        using var dir = new TempDir();
        string file = dir.File("ours.tif");
        var volume = Volumes.Make("float32", new Shape3(6, 40, 50), new VoxelSize(30, 4, 4));
        VolumeWriter.Write(new VolumePath(file, null), volume, new VolumeWriteOptions { Attributes = new Dictionary<string, string> { ["k"] = "v" } });

        string info = Python.Run(
            """
            import sys, json, numpy as np, tifffile
            with tifffile.TiffFile(sys.argv[1]) as t:
                a = t.asarray()
                d = json.loads(t.pages[0].description)
            np.save(sys.argv[2], a)
            print(a.dtype, a.shape, d['k'], d['element_size_um'])
            """,
            file,
            dir.File("back.npy"));

        Assert.Equal("float32 (6, 40, 50) v [0.03, 0.004, 0.004]", info);
        Volumes.AssertEqual(volume, VolumeReader.Read(new VolumePath(dir.File("back.npy"), null)));
    }

    [TifffileFact]
    public void ImageJStack_VoxelSizeFromSpacingAndResolution()
    {
        using var dir = new TempDir();
        string file = dir.File("fiji.tif");
        Python.Run(
            """
            import sys, numpy as np, tifffile
            tifffile.imwrite(sys.argv[1], np.zeros((4, 20, 30), 'u1'), imagej=True,
                             resolution=(1 / 0.008, 1 / 0.01), metadata={'spacing': 0.04, 'unit': 'um', 'axes': 'ZYX'})
            """,
            file);

        var size = VolumeReader.Read(new VolumePath(file, null)).VoxelSize;

        Assert.Equal(40, size.Z, 6);
        Assert.Equal(10, size.Y, 6);
        Assert.Equal(8, size.X, 6);
    }

    [Fact]
    public void ReadBlock_OutsideTheVolume_Throws()
    {
        using var dir = new TempDir();
        var path = new VolumePath(dir.File("v.h5"), "/raw");
        VolumeWriter.Write(path, Volumes.Make("uint8", new Shape3(4, 5, 6)), VolumeWriteOptions.Default);

        Assert.Throws<ArgumentOutOfRangeException>(() => VolumeReader.ReadBlock(path, (0, 0, 1), new Shape3(4, 5, 6)));
        Assert.Throws<ArgumentOutOfRangeException>(() => VolumeReader.ReadBlock(path, (-1, 0, 0), new Shape3(1, 1, 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => VolumeReader.ReadBlock(path, (0, 0, 0), new Shape3(0, 1, 1)));
    }

    private static void WriteNpy(string path, string descr, string shape, int dataBytes, bool fortran = false)
    {
        string header = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {shape}, }}";
        header = header.PadRight(((header.Length + 10 + 1 + 63) / 64 * 64) - 10 - 1) + "\n";
        using var stream = File.Create(path);
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)header.Length, (byte)(header.Length >> 8)]);
        stream.Write(System.Text.Encoding.ASCII.GetBytes(header));
        stream.Write(new byte[dataBytes]);
    }
}
