using EmMask.Core.Volumes;
using EmMask.IO.Formats;

namespace EmMask.IO.Tests;

/// <summary>
/// Arrays stored with axes of length 1 beyond (Z, Y, X) (a leading time or channel axis, ilastik's trailing channel,
/// ImageJ's ZCYX) and big-endian npy files: read as their spatial voxels, and a mask written back with the stored shape.
/// </summary>
public class StoredAxesTests
{
    // numpy and h5py write each form of one (4, 10, 12) uint16 volume, and the volume itself as ref.npy.
    private const string MakeFiles = """
        import sys, h5py, numpy as np
        out = sys.argv[1]
        rng = np.random.default_rng(11)
        a = rng.integers(0, 65535, (4, 10, 12)).astype('u2')
        np.save(f"{out}/ref.npy", a)
        forms = {
            'tzyx': a[None], 'zyxc': a[..., None], 'zcyx': a[:, None], 'tczyx': a[None, None],
            'image': a[:1, None, :, :, None],
        }
        for name, b in forms.items():
            np.save(f"{out}/{name}.npy", b)
        np.save(f"{out}/fortran.npy", np.asfortranarray(a[None]))
        np.save(f"{out}/be_u2.npy", a.astype('>u2'))
        np.save(f"{out}/be_f4.npy", a.astype('>f4'))
        np.save(f"{out}/be_i4.npy", a.astype('>i4'))
        np.save(f"{out}/be_f8_tzyx.npy", a.astype('>f8')[None])
        with h5py.File(f"{out}/v.h5", 'w') as f:
            f.create_dataset('zyxc', data=a[..., None], chunks=(2, 5, 6, 1), compression='gzip')
            f['zyxc'].attrs['element_size_um'] = np.array([0.04, 0.008, 0.006, 1.0])
            f.create_dataset('tzyx', data=a[None], chunks=(1, 3, 4, 5))
            f.create_dataset('contiguous_zcyx', data=a[:, None])
        """;

    [Theory]
    [InlineData(new long[] { 1, 4, 10, 12 }, new[] { 1, 2, 3 })]
    [InlineData(new long[] { 4, 10, 12, 1 }, new[] { 0, 1, 2 })]
    [InlineData(new long[] { 4, 1, 10, 12 }, new[] { 0, 2, 3 })]
    [InlineData(new long[] { 1, 1, 10, 12 }, new[] { 2, 3 })]
    [InlineData(new long[] { 1, 1, 1, 12 }, new[] { 2, 3 })]
    [InlineData(new long[] { 1, 4, 10, 12, 1 }, new[] { 1, 2, 3 })]
    [InlineData(new long[] { 4, 10, 12 }, new[] { 0, 1, 2 })]
    [InlineData(new long[] { 1, 12 }, new[] { 0, 1 })]
    [InlineData(new long[] { 16, 20, 1 }, new[] { 0, 1 })] // a grey image with a channel axis
    [InlineData(new long[] { 15, 20, 1 }, new[] { 0, 1, 2 })] // too small to be taken for one
    [InlineData(new long[] { 1, 16, 20 }, new[] { 0, 1, 2 })]
    public void SpatialAxesAreTheLongOnes(long[] dims, int[] spatial)
    {
        var axes = StoredAxes.Of(dims);
        Assert.NotNull(axes);
        Assert.Equal(spatial, axes.Spatial);
        Assert.Equal(dims, axes.Stored);
    }

    [Theory]
    [InlineData(new long[] { 2, 4, 10, 12 })]
    [InlineData(new long[] { 1, 4, 10, 3 })] // a colour stack stays one
    [InlineData(new long[] { 12 })]
    [InlineData(new long[] { })]
    public void OtherShapesAreNotSqueezed(long[] dims) => Assert.Null(StoredAxes.Of(dims));

    [Fact]
    public void RegionSelectsTheExtraAxesAtZero()
    {
        var (starts, counts) = StoredAxes.Of([4, 1, 10, 12])!.Region((1, 2, 3), (2, 5, 6));
        Assert.Equal(new ulong[] { 1, 0, 2, 3 }, starts);
        Assert.Equal(new ulong[] { 2, 1, 5, 6 }, counts);
        (starts, counts) = StoredAxes.Of([1, 1, 10, 12])!.Region((0, 2, 3), (1, 5, 6));
        Assert.Equal(new ulong[] { 0, 0, 2, 3 }, starts);
        Assert.Equal(new ulong[] { 1, 1, 5, 6 }, counts);
    }

    [Fact]
    public void TheWrittenShapeIsTheStoredOneOnlyWhereItHoldsTheVolume()
    {
        var options = VolumeWriteOptions.Default with { StoredDimensions = [1, 4, 10, 12] };
        Assert.Equal(new long[] { 1, 4, 10, 12 }, options.DimensionsFor(new Shape3(4, 10, 12)));
        Assert.Equal(new long[] { 2, 5, 6 }, options.DimensionsFor(new Shape3(2, 5, 6))); // a coarser level
        var image = VolumeWriteOptions.Default with { StoredDimensions = [1, 10, 12, 1], SingleSliceRank = 2 };
        Assert.Equal(new long[] { 1, 10, 12, 1 }, image.DimensionsFor(new Shape3(1, 10, 12)));
        Assert.Equal(new long[] { 10, 12 }, VolumeWriteOptions.Default.DimensionsFor(new Shape3(1, 10, 12)));
        Assert.Equal(new long[] { 1, 10, 12 }, (VolumeWriteOptions.Default with { SingleSliceRank = 3 }).DimensionsFor(new Shape3(1, 10, 12)));
        var channel = VolumeWriteOptions.Default with { StoredDimensions = [16, 20, 1] };
        Assert.Equal(new long[] { 16, 20, 1 }, channel.DimensionsFor(new Shape3(1, 16, 20)));
    }

    [H5pyFact]
    public void NpyWithAxesOfLengthOneReadsAsItsVolume()
    {
        using var dir = new TempDir();
        Python.Run(MakeFiles, dir.Path);
        var reference = Read(dir.File("ref.npy"));
        foreach (string name in new[] { "tzyx", "zyxc", "zcyx", "tczyx", "fortran", "be_u2" })
        {
            var volume = Read(dir.File(name + ".npy"));
            Assert.Equal(VoxelType.UInt16, volume.VoxelType);
            Assert.True(((Volume<ushort>)reference).Span.SequenceEqual(((Volume<ushort>)volume).Span), name);
            var block = VolumeReader.ReadBlock(new VolumePath(dir.File(name + ".npy"), null), (1, 2, 3), new Shape3(2, 5, 6));
            Assert.True(((Volume<ushort>)VolumeRegions.Crop(reference, (1, 2, 3), new Shape3(2, 5, 6))).Span.SequenceEqual(((Volume<ushort>)block).Span), name + " block");
        }

        var image = Read(dir.File("image.npy"));
        Assert.Equal(new Shape3(1, 10, 12), image.Shape);
        Assert.Equal(2, VolumeReader.ReadRank(new VolumePath(dir.File("image.npy"), null)));
        Assert.Equal(new long[] { 1, 1, 10, 12, 1 }, VolumeReader.ReadStoredDimensions(new VolumePath(dir.File("image.npy"), null)));

        float[] expected = [.. ((Volume<ushort>)reference).Span.ToArray().Select(v => (float)v)];
        foreach (string name in new[] { "be_f4", "be_i4", "be_f8_tzyx" })
        {
            var volume = (Volume<float>)Read(dir.File(name + ".npy"));
            Assert.Equal(expected, volume.Span.ToArray());
        }
    }

    [H5pyFact]
    public void Hdf5WithAxesOfLengthOneReadsAsItsVolumeAndKeepsItsVoxelSize()
    {
        using var dir = new TempDir();
        Python.Run(MakeFiles, dir.Path);
        var reference = (Volume<ushort>)Read(dir.File("ref.npy"));
        foreach (string name in new[] { "zyxc", "tzyx", "contiguous_zcyx" })
        {
            var path = VolumePath.Parse($"{dir.File("v.h5")}:/{name}", "/raw");
            var volume = (Volume<ushort>)VolumeReader.Read(path);
            Assert.True(reference.Span.SequenceEqual(volume.Span), name);
            Assert.Equal(3, VolumeReader.ReadRank(path));
            Assert.Equal(new Shape3(4, 10, 12), VolumeReader.ReadShape(path));
            var block = (Volume<ushort>)VolumeReader.ReadBlock(path, (1, 2, 3), new Shape3(3, 7, 9));
            Assert.True(((Volume<ushort>)VolumeRegions.Crop(reference, (1, 2, 3), new Shape3(3, 7, 9))).Span.SequenceEqual(block.Span), name + " block");
        }

        var zyxc = VolumeReader.Read(VolumePath.Parse($"{dir.File("v.h5")}:/zyxc", "/raw"));
        Assert.Equal(40, zyxc.VoxelSize.Z, 6);
        Assert.Equal(6, zyxc.VoxelSize.X, 6);
    }

    [H5pyFact]
    public void AMaskIsWrittenWithItsInputsStoredShape()
    {
        using var dir = new TempDir();
        Python.Run(MakeFiles, dir.Path);
        var mask = new Volume<byte>(new Shape3(4, 10, 12));
        for (int i = 0; i < mask.Span.Length; i++)
        {
            mask.Span[i] = (byte)(i % 3 == 0 ? 1 : 0);
        }

        foreach (var (input, output) in new[] { ("zyxc.npy", "m_zyxc.npy"), ("tzyx.npy", "m_tzyx.npy"), ("v.h5:/zyxc", "m.h5:/zyxc"), ("v.h5:/tzyx", "m.h5:/tzyx") })
        {
            var inPath = VolumePath.Parse(dir.File(input), "/raw");
            var options = new VolumeWriteOptions { StoredDimensions = VolumeReader.ReadStoredDimensions(inPath), SingleSliceRank = VolumeReader.ReadRank(inPath) };
            VolumeWriter.Write(VolumePath.Parse(dir.File(output), "/mask"), mask, options);
        }

        // Block-wise writes store the same shape.
        var rowsOptions = new VolumeWriteOptions { StoredDimensions = [1, 4, 10, 12] };
        VolumeWriter.WriteRows(new VolumePath(dir.File("rows.npy"), null), new VolumeRows(mask), rowsOptions);
        VolumeWriter.WriteRows(VolumePath.Parse(dir.File("rows.h5:/m"), "/m"), new VolumeRows(mask), rowsOptions);

        string shapes = Python.Run(
            """
            import sys, h5py, numpy as np
            d = sys.argv[1]
            ref = (np.arange(4 * 10 * 12) % 3 == 0).astype('u1').reshape(4, 10, 12)
            out = []
            for name in ['m_zyxc.npy', 'm_tzyx.npy', 'rows.npy']:
                a = np.load(f"{d}/{name}")
                out.append(f"{name}{a.shape}{int(np.array_equal(a.reshape(ref.shape), ref))}")
            with h5py.File(f"{d}/m.h5") as f, h5py.File(f"{d}/rows.h5") as g:
                for name, ds in [('zyxc', f['zyxc']), ('tzyx', f['tzyx']), ('rows', g['m'])]:
                    out.append(f"{name}{ds.shape}{int(np.array_equal(ds[()].reshape(ref.shape), ref))}")
            print(' '.join(out).replace(' ', '').replace('),', ')'))
            """,
            dir.Path);
        Assert.Equal("m_zyxc.npy(4,10,12,1)1m_tzyx.npy(1,4,10,12)1rows.npy(1,4,10,12)1zyxc(4,10,12,1)1tzyx(1,4,10,12)1rows(1,4,10,12)1", shapes);
    }

    private static IVolume Read(string file) => VolumeReader.Read(new VolumePath(file, null));
}
