using EmMask.Core.Volumes;
using EmMask.IO.Formats;

namespace EmMask.IO.Tests;

/// <summary>One h5py-written file (and its .npy references) shared by the tests that read it.</summary>
public sealed class H5pyFileFixture : IDisposable
{
    private readonly Lazy<TempDir> dir;

    public H5pyFileFixture()
    {
        dir = new Lazy<TempDir>(() =>
        {
            var d = new TempDir();
            Python.Run(H5pyInteropTests.MakeH5pyFile, d.File("h5py.h5"), d.Path);
            return d;
        });
    }

    public string Dir => dir.Value.Path;

    public string File => dir.Value.File("h5py.h5");

    public void Dispose()
    {
        if (dir.IsValueCreated)
        {
            dir.Value.Dispose();
        }
    }
}

/// <summary>Files written by h5py read here, and files written here read by h5py.</summary>
public class H5pyInteropTests(H5pyFileFixture h5py) : IClassFixture<H5pyFileFixture>
{
    // Writes each array both into the HDF5 file (various layouts) and as <name>.npy for comparison.
    internal const string MakeH5pyFile = """
        import sys, h5py, numpy as np
        path, out = sys.argv[1], sys.argv[2]
        rng = np.random.default_rng(5)
        arrays = {
            'volumes/raw_gzip': (rng.integers(0, 256, (20, 70, 90)).astype('u1'), dict(chunks=(8, 32, 32), compression='gzip', compression_opts=4)),
            'contiguous_u16_2d': (rng.integers(0, 65535, (50, 61)).astype('u2'), dict()),
            'shuffle_f32': (rng.standard_normal((9, 40, 33)).astype('f4'), dict(chunks=(3, 10, 11), compression='gzip', shuffle=True)),
            'big_endian_u16': (rng.integers(0, 65535, (4, 10, 12)).astype('>u2'), dict(chunks=(2, 5, 6))),
            'int16': (rng.integers(-3000, 3000, (3, 10, 12)).astype('i2'), dict(compression='gzip')),
            'float64': (rng.standard_normal((3, 10, 12)), dict()),
            'bool': (rng.integers(0, 2, (3, 10, 12)).astype(bool), dict(compression='gzip')),
            'int32_small': (rng.integers(-2**24, 2**24, (3, 10, 12)).astype('i4'), dict()),
            # LZF: noise in the first two sections (chunks LZF cannot shrink, stored as they are), a gradient after.
            'lzf_u8': (np.concatenate([rng.integers(0, 256, (2, 40, 70)), np.broadcast_to(np.arange(70) % 17, (3, 40, 70))]).astype('u1'), dict(chunks=(2, 16, 32), compression='lzf')),
            'lzf_shuffle_u16': (np.broadcast_to(np.arange(60, dtype='u2') * 500, (3, 30, 60)).copy(), dict(chunks=(1, 16, 16), compression='lzf', shuffle=True)),
        }
        with h5py.File(path, 'w') as f:
            for name, (a, kw) in arrays.items():
                d = f.create_dataset(name, data=a, **kw)
                np.save(f"{out}/{name.replace('/', '_')}.npy", a.astype(a.dtype.newbyteorder('<')) if a.dtype.byteorder == '>' else a)
            f['volumes/raw_gzip'].attrs['element_size_um'] = np.array([0.04, 0.008, 0.008], dtype='f4')
            f['volumes/raw_gzip'].attrs['note'] = 'from h5py'
            f['shuffle_f32'].attrs['resolution'] = [40, 4, 4]
        """;

    [H5pyTheory]
    [InlineData("/volumes/raw_gzip", "volumes_raw_gzip", VoxelType.UInt8)]
    [InlineData("/contiguous_u16_2d", "contiguous_u16_2d", VoxelType.UInt16)]
    [InlineData("/shuffle_f32", "shuffle_f32", VoxelType.Float32)]
    [InlineData("/int16", "int16", VoxelType.Float32)]
    [InlineData("/float64", "float64", VoxelType.Float32)]
    [InlineData("/bool", "bool", VoxelType.UInt8)]
    [InlineData("/int32_small", "int32_small", VoxelType.Float32)]
    [InlineData("/lzf_u8", "lzf_u8", VoxelType.UInt8)]
    [InlineData("/lzf_shuffle_u16", "lzf_shuffle_u16", VoxelType.UInt16)]
    public void ReadsH5pyFiles(string dataset, string npy, VoxelType expectedType)
    {
        string file = h5py.File;
        var volume = VolumeReader.Read(new VolumePath(file, dataset));
        var reference = VolumeReader.Read(new VolumePath(Path.Combine(h5py.Dir, npy + ".npy"), null));

        Assert.Equal(expectedType, volume.VoxelType);
        if (reference.VoxelType == volume.VoxelType)
        {
            Volumes.AssertEqual(reference, volume);
        }
        else
        {
            Assert.Equal(reference.Shape, volume.Shape);
        }

        // Blocks come from hyperslabs that cross chunk borders.
        var size = new Shape3(Math.Min(2, volume.Shape.Z), Math.Min(7, volume.Shape.Y - 1), Math.Min(13, volume.Shape.X - 2));
        var offset = (volume.Shape.Z > 2 ? 1 : 0, 1, 2);
        Volumes.AssertEqual(EmMask.Core.Volumes.VolumeRegions.Crop(volume, offset, size), VolumeReader.ReadBlock(new VolumePath(file, dataset), offset, size));
    }

    [H5pyFact]
    public void BigEndianData_IsRefusedClearly()
    {
        // PureHDF 2.2 cannot swap byte order; h5py writes little-endian unless asked, so this is rare.
        string file = h5py.File;

        var ex = Assert.Throws<VolumeFormatException>(() => VolumeReader.Read(new VolumePath(file, "/big_endian_u16")));
        Assert.Contains("big-endian", ex.Message);
        Assert.Contains(file, ex.Message);
    }

    [H5pyFact]
    public void ReadsVoxelSizeAndAttributesFromH5py()
    {
        string file = h5py.File;

        var raw = VolumeReader.Read(new VolumePath(file, "/volumes/raw_gzip"));
        Assert.Equal(40, raw.VoxelSize.Z, 3);
        Assert.Equal(8, raw.VoxelSize.X, 3);
        Assert.Equal("from h5py", VolumeReader.ReadAttributes(new VolumePath(file, "/volumes/raw_gzip"))["note"]);
        Assert.Equal(new VoxelSize(40, 4, 4), VolumeReader.Read(new VolumePath(file, "/shuffle_f32")).VoxelSize);
        Assert.Equal(10, VolumeReader.ListDatasets(file).Count);
        Assert.Contains("/volumes/raw_gzip", VolumeReader.ListDatasets(file));
    }

    [H5pyTheory]
    [InlineData("uint8", 3)]
    [InlineData("uint16", 3)]
    [InlineData("float32", 3)]
    [InlineData("uint8", 2)]
    [InlineData("float32", 2)]
    public void H5pyReadsOurFiles(string dtype, int rank)
    {
        using var dir = new TempDir();
        string file = dir.File("ours.h5");
        var shape = rank == 3 ? new Shape3(35, 70, 1100) : new Shape3(1, 300, 1030);
        var volume = Volumes.Make(dtype, shape, new VoxelSize(30, 5, 5));
        VolumeWriter.Write(new VolumePath(file, "/g/data"), volume, new VolumeWriteOptions { Attributes = new Dictionary<string, string> { ["who"] = "emmask" } });

        string info = Python.Run(
            """
            import sys, h5py, numpy as np
            with h5py.File(sys.argv[1], 'r') as f:
                d = f['g/data']
                np.save(sys.argv[2], d[()])
                print(d.dtype, d.ndim, d.compression, d.chunks is not None, d.attrs['who'], ','.join('%g' % v for v in d.attrs['element_size_um']))
            """,
            file,
            dir.File("back.npy"));

        Assert.Equal($"{dtype} {rank} gzip True emmask {(rank == 3 ? "0.03," : "")}0.005,0.005", info);
        Volumes.AssertEqual(volume, NpyFormat.Read(dir.File("back.npy")));
    }

    [H5pyFact]
    public void AddingADatasetToAnH5pyFile_KeepsEverythingElse()
    {
        using var dir = new TempDir();
        string file = dir.File("mixed.h5");
        Python.Run(
            """
            import sys, h5py, numpy as np
            with h5py.File(sys.argv[1], 'w') as f:
                f.attrs['title'] = 'stack'
                f.attrs['count'] = np.int64(3)
                g = f.create_group('labels')
                g.attrs['ids'] = np.arange(4, dtype='u4')
                g.create_dataset('seg', data=np.arange(2 * 30 * 40, dtype='u8').reshape(2, 30, 40), chunks=(1, 10, 10), compression='gzip')
                f.create_dataset('table', data=np.arange(10, dtype='f8'))
                f.create_dataset('scalar', data=np.int16(-7))
            """,
            file);

        var mask = Volumes.Fill<byte>(new Shape3(2, 30, 40), null, i => (byte)(i % 2));
        VolumeWriter.Write(new VolumePath(file, "/mask"), mask, VolumeWriteOptions.Default);

        string check = Python.Run(
            """
            import sys, h5py, numpy as np
            with h5py.File(sys.argv[1], 'r') as f:
                ok = [
                    f.attrs['title'] == 'stack', int(f.attrs['count']) == 3,
                    list(f['labels'].attrs['ids']) == [0, 1, 2, 3],
                    f['labels/seg'].dtype == np.uint64,
                    (f['labels/seg'][()] == np.arange(2 * 30 * 40).reshape(2, 30, 40)).all(),
                    (f['table'][()] == np.arange(10)).all(), int(f['scalar'][()]) == -7,
                    f['mask'].dtype == np.uint8, int(f['mask'][()].sum()) == 1200,
                ]
                print(ok)
            """,
            file);
        Assert.Equal("[True, True, True, True, True, True, True, True, True]", check);
    }
}
