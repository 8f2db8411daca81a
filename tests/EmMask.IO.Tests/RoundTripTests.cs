using EmMask.Core.Volumes;

namespace EmMask.IO.Tests;

public class RoundTripTests
{
    public static TheoryData<string, string, int> Cases()
    {
        var data = new TheoryData<string, string, int>();
        foreach (var name in new[] { "v.h5:/raw", "v.tif", "v.npy" })
        {
            foreach (var dtype in new[] { "uint8", "uint16", "float32" })
            {
                data.Add(name, dtype, 3);
                data.Add(name, dtype, 2);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void WriteThenRead_IsIdentical(string name, string dtype, int rank)
    {
        using var dir = new TempDir();
        var shape = rank == 3 ? new Shape3(70, 33, 67) : new Shape3(1, 129, 300);
        var volume = Volumes.Make(dtype, shape);
        var path = VolumePath.Parse(dir.File(name), "/raw");

        VolumeWriter.Write(path, volume, VolumeWriteOptions.Default);
        var back = VolumeReader.Read(path);

        Volumes.AssertEqual(volume, back);
        Assert.Equal(VoxelSize.Isotropic, back.VoxelSize);
        Assert.Equal(shape, VolumeReader.ReadShape(path));
        Assert.Equal([Path.GetFileName(path.File)], dir.Entries());
    }

    [Theory]
    [InlineData("v.h5:/raw")]
    [InlineData("v.tif")]
    [InlineData("v.npy")]
    public void AttributesAndVoxelSize_RoundTrip(string name)
    {
        using var dir = new TempDir();
        var volume = Volumes.Make("uint8", new Shape3(3, 8, 9), new VoxelSize(30, 8, 8));
        var path = VolumePath.Parse(dir.File(name), "/raw");
        var attributes = new Dictionary<string, string> { ["source"] = "emmask test", ["model"] = "unet-v1 ✓" };

        VolumeWriter.Write(path, volume, new VolumeWriteOptions { Attributes = attributes });

        var back = VolumeReader.Read(path);
        Assert.Equal(30, back.VoxelSize.Z, 9);
        Assert.Equal(8, back.VoxelSize.Y, 9);
        Assert.Equal(8, back.VoxelSize.X, 9);
        var read = VolumeReader.ReadAttributes(path);
        Assert.Equal("emmask test", read["source"]);
        Assert.Equal("unet-v1 ✓", read["model"]);
    }

    [Fact]
    public void Hdf5_UncompressedWrite_RoundTrips()
    {
        using var dir = new TempDir();
        var volume = Volumes.Make("uint16", new Shape3(5, 40, 41));
        var path = VolumePath.Parse(dir.File("u.h5:/g/sub/raw"), "/raw");

        VolumeWriter.Write(path, volume, new VolumeWriteOptions { Compress = false });

        Volumes.AssertEqual(volume, VolumeReader.Read(path));
        Assert.Equal(["/g/sub/raw"], VolumeReader.ListDatasets(path.File));
    }

    [Fact]
    public void Hdf5_CompressionShrinksRepetitiveData()
    {
        using var dir = new TempDir();
        var volume = Volumes.Fill<byte>(new Shape3(64, 64, 64), null, i => (byte)(i % 64 < 32 ? 0 : 1));
        VolumeWriter.Write(VolumePath.Parse(dir.File("c.h5"), "/m"), volume, VolumeWriteOptions.Default);
        VolumeWriter.Write(VolumePath.Parse(dir.File("u.h5"), "/m"), volume, new VolumeWriteOptions { Compress = false });

        Assert.True(new FileInfo(dir.File("c.h5")).Length * 10 < new FileInfo(dir.File("u.h5")).Length);
    }

    [Fact]
    public void WriteMany_WritesAllDatasetsWithTheirAttributes()
    {
        using var dir = new TempDir();
        string file = dir.File("phantom.h5");
        var raw = Volumes.Make("uint8", new Shape3(4, 10, 12));
        var gt = Volumes.Fill<byte>(new Shape3(4, 10, 12), null, i => (byte)(i % 2));

        VolumeWriter.WriteMany(
            file,
            [("/raw", raw, null), ("gt", gt, new Dictionary<string, string> { ["kind"] = "mask" })],
            new VolumeWriteOptions { Attributes = new Dictionary<string, string> { ["kind"] = "raw" } });

        Assert.Equal(["/gt", "/raw"], VolumeReader.ListDatasets(file).Order());
        Volumes.AssertEqual(raw, VolumeReader.Read(new VolumePath(file, "/raw")));
        Volumes.AssertEqual(gt, VolumeReader.Read(new VolumePath(file, "/gt")));
        Assert.Equal("raw", VolumeReader.ReadAttributes(new VolumePath(file, "/raw"))["kind"]);
        Assert.Equal("mask", VolumeReader.ReadAttributes(new VolumePath(file, "/gt"))["kind"]);
    }

    [Theory]
    [InlineData("l.h5:/labels")]
    [InlineData("l.tif")]
    [InlineData("l.npy")]
    public void Int32Labels_AreWrittenAsInt32_AndReadBackAsExactFloat32(string name)
    {
        using var dir = new TempDir();
        var labels = Volumes.Fill<int>(new Shape3(3, 20, 30), null, i => (int)(i % 7 == 0 ? 0 : 16_000_000 + i));
        var path = VolumePath.Parse(dir.File(name), "/x");

        VolumeWriter.Write(path, labels, VolumeWriteOptions.Default);

        if (Python.HasH5py)
        {
            string script = path.Kind switch
            {
                VolumeFileKind.Hdf5 => "import sys, h5py; print(h5py.File(sys.argv[1], 'r')['labels'].dtype)",
                VolumeFileKind.Tiff => "import sys, tifffile; print(tifffile.imread(sys.argv[1]).dtype)",
                _ => "import sys, numpy; print(numpy.load(sys.argv[1]).dtype)",
            };
            Assert.Equal("int32", Python.Run(script, path.File));
        }

        var back = (Volume<float>)VolumeReader.Read(path);
        for (int i = 0; i < labels.Span.Length; i++)
        {
            Assert.Equal(labels.Span[i], (int)back.Span[i]);
        }
    }
}
