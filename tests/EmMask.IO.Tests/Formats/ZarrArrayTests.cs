using EmMask.Core.Volumes;
using EmMask.IO.Formats;

namespace EmMask.IO.Tests.Formats;

/// <summary>The arrays zarr-python writes for <see cref="ZarrArrayTests"/>, made once and removed after them.</summary>
public sealed class ZarrArraysFixture : IDisposable
{
    private readonly Lazy<TempDir> dir = new(() =>
    {
        var d = new TempDir();
        Python.Run(ZarrArrayTests.MakeArrays, d.Path);
        return d;
    });

    public string Path => dir.Value.Path;

    public void Dispose()
    {
        if (dir.IsValueCreated)
        {
            dir.Value.Dispose();
        }
    }
}

/// <summary>Zarr v2 arrays written by zarr-python (numcodecs' compressors) read here, whole and block by block.</summary>
public class ZarrArrayTests(ZarrArraysFixture arrays) : IClassFixture<ZarrArraysFixture>
{
    // Each array as Zarr and as <name>.npy (the voxels expected, float32 where the reader converts).
    internal const string MakeArrays = """
        import sys, json, zarr, numcodecs, numpy as np
        out = sys.argv[1]
        rng = np.random.default_rng(8)
        u16 = rng.integers(0, 65535, (5, 70, 90)).astype('u2')
        smooth = (np.arange(5 * 70 * 90).reshape(5, 70, 90) % 300).astype('u2')  # compressible: blocks split
        arrays = {
            'default': (u16, {}),
            'default_smooth': (smooth, {}),
            'blosc_zstd': (smooth, dict(compressor=numcodecs.Blosc('zstd', 3, numcodecs.Blosc.SHUFFLE))),
            'blosc_zlib_noshuffle': (smooth, dict(compressor=numcodecs.Blosc('zlib', 5, numcodecs.Blosc.NOSHUFFLE))),
            'blosc_lz4hc_f4': (smooth.astype('f4') / 7, dict(compressor=numcodecs.Blosc('lz4hc', 5, numcodecs.Blosc.SHUFFLE))),
            'blosc_stored': (u16, dict(compressor=numcodecs.Blosc('lz4', 0))),
            'zlib': (smooth, dict(compressor=numcodecs.Zlib(5))),
            'gzip': (smooth, dict(compressor=numcodecs.GZip(5))),
            'zstd': (smooth, dict(compressor=numcodecs.Zstd(3))),
            'lz4': (smooth, dict(compressor=numcodecs.LZ4())),
            'raw_u8': ((smooth % 256).astype('u1'), dict(compressor=None)),
            'nested_i2': (smooth.astype('i2') - 150, dict(dimension_separator='/')),
            'big_f8': ((smooth / 3).astype('>f8'), {}),
            'czyx': (smooth[None], dict(chunks=(1, 2, 32, 32))),
            'image_u8': ((smooth[0] % 256).astype('u1'), dict(chunks=(32, 32))),
        }
        for name, (a, kw) in arrays.items():
            kw.setdefault('chunks', (2, 32, 40))
            z = zarr.open(f"{out}/{name}.zarr", mode='w', shape=a.shape, dtype=a.dtype, **kw)
            z[...] = a
            np.save(f"{out}/{name}.npy", a if a.dtype in (np.uint8, np.uint16, np.float32) else a.astype('<f4'))
        # A missing chunk holds the fill value; attributes and the voxel size.
        z = zarr.open(f"{out}/sparse.zarr", mode='w', shape=(4, 64, 64), chunks=(2, 32, 32), dtype='u1', fill_value=7)
        z[0:2, 0:32, 0:32] = 200
        z.attrs['resolution'] = [40, 8, 8]
        z.attrs['note'] = 'sparse'
        # An OME-Zarr image: levels 0 and 1 with their scales in micrometres.
        g = zarr.open_group(f"{out}/image.ome.zarr", mode='w')
        g.create_dataset('0', data=smooth, chunks=(2, 32, 32))
        g.create_dataset('1', data=smooth[:, ::2, ::2], chunks=(2, 32, 32))
        g.attrs['multiscales'] = [{'version': '0.4', 'axes': [{'name': n, 'type': 'space', 'unit': 'micrometer'} for n in 'zyx'],
            'datasets': [{'path': p, 'coordinateTransformations': [{'type': 'scale', 'scale': [0.04, 0.008 * f, 0.008 * f]}]} for p, f in (('0', 1), ('1', 2))]}]
        bad = zarr.open(f"{out}/filtered.zarr", mode='w', shape=(2, 8, 8), chunks=(2, 8, 8), dtype='u2', filters=[numcodecs.Delta('u2')])
        bad[...] = 1
        blz = zarr.open(f"{out}/blosclz.zarr", mode='w', shape=(2, 8, 8), chunks=(2, 8, 8), dtype='u2', compressor=numcodecs.Blosc('blosclz', 5))
        blz[...] = 1
        """;

    public static TheoryData<string> Names() =>
        ["default", "default_smooth", "blosc_zstd", "blosc_zlib_noshuffle", "blosc_lz4hc_f4", "blosc_stored", "zlib", "gzip", "zstd", "lz4", "raw_u8", "nested_i2", "big_f8", "czyx", "image_u8"];

    [PythonTheory(Module.Zarr)]
    [MemberData(nameof(Names))]
    public void AnArrayReadsAsItsVoxelsWholeAndBlockByBlock(string name)
    {
        var path = new VolumePath(Path.Combine(arrays.Path, name + ".zarr"), null);
        Assert.Equal(VolumeFileKind.Zarr, path.Kind);
        var expected = VolumeReader.Read(new VolumePath(Path.Combine(arrays.Path, name + ".npy"), null));
        var volume = VolumeReader.Read(path);
        Assert.Equal(expected.Shape, volume.Shape);
        Assert.Equal(expected.Shape, VolumeReader.ReadShape(path));
        Volumes.AssertEqual(expected, volume);
        var (offset, size) = volume.Shape.Z > 1 ? ((1, 20, 30), new Shape3(3, 45, 50)) : ((0, 20, 30), new Shape3(1, 45, 50));
        Volumes.AssertEqual(VolumeRegions.Crop(expected, offset, size), VolumeReader.ReadBlock(path, offset, size));
    }

    [PythonFact(Module.Zarr)]
    public void MissingChunksHoldTheFillValueAndTheVoxelSizeComesFromTheAttributesOrTheOmeImage()
    {
        var sparse = (Volume<byte>)VolumeReader.Read(new VolumePath(Path.Combine(arrays.Path, "sparse.zarr"), null));
        Assert.Equal(200, sparse[1, 31, 31]);
        Assert.Equal(7, sparse[1, 32, 31]);
        Assert.Equal(7, sparse[3, 63, 63]);
        Assert.Equal(new VoxelSize(40, 8, 8), sparse.VoxelSize);
        Assert.Equal("sparse", VolumeReader.ReadAttributes(new VolumePath(Path.Combine(arrays.Path, "sparse.zarr"), null))["note"]);

        var level1 = VolumeReader.Read(new VolumePath(Path.Combine(arrays.Path, "image.ome.zarr", "1"), null));
        Assert.Equal(40, level1.VoxelSize.Z, 6);
        Assert.Equal(16, level1.VoxelSize.X, 6);
        Assert.Equal(8, VolumeReader.Read(new VolumePath(Path.Combine(arrays.Path, "image.ome.zarr", "0"), null)).VoxelSize.Y, 6);
        Assert.Equal(new long[] { 1, 5, 70, 90 }, VolumeReader.ReadStoredDimensions(new VolumePath(Path.Combine(arrays.Path, "czyx.zarr"), null)));
        Assert.Equal(2, VolumeReader.ReadRank(new VolumePath(Path.Combine(arrays.Path, "image_u8.zarr"), null)));
    }

    [PythonFact(Module.Zarr)]
    public void WhatIsNotReadIsRefusedWithOneLineSayingWhatIs()
    {
        string Fails(string relative) =>
            Assert.Throws<VolumeFormatException>(() => VolumeReader.Read(new VolumePath(Path.Combine(arrays.Path, relative), null))).Message;

        Assert.Contains("is a Zarr group, not an array; name one of its arrays", Fails("image.ome.zarr"), StringComparison.Ordinal);
        Assert.Contains("filters (delta)", Fails("filtered.zarr"), StringComparison.Ordinal);
        Assert.Contains("blosclz is not supported", Fails("blosclz.zarr"), StringComparison.Ordinal);
        Assert.Contains("no such Zarr array", Fails("missing.zarr"), StringComparison.Ordinal);
    }

    [PythonFact(Module.Zarr)]
    public void ArraysWrittenHereOpenInZarrPythonWithTheirAttributesAndReplaceOnlyWithForce()
    {
        using var dir = new TempDir();
        var mask = new Volume<byte>(new Shape3(20, 300, 270), new VoxelSize(40, 8, 8));
        var confidence = new Volume<float>(mask.Shape, mask.VoxelSize);
        for (int i = 0; i < mask.Span.Length; i++)
        {
            mask.Span[i] = (byte)((i / 7) % 3 == 0 ? 1 : 0);
            confidence.Span[i] = (i % 1000) / 1024f;
        }

        var attributes = new Dictionary<string, string> { ["method"] = "classical" };
        VolumeWriter.Write(new VolumePath(dir.File("mask.zarr"), null), mask, new VolumeWriteOptions { Attributes = attributes });
        VolumeWriter.WriteRows(
            new VolumePath(dir.File("rows.zarr"), null), new VolumeRows(mask), new VolumeWriteOptions { StoredDimensions = [1, 20, 300, 270] },
            confidence: (new VolumePath(dir.File("confidence.zarr"), null), new VolumeRowSource<float>(confidence)));
        var section = new Volume<byte>(new Shape3(1, 600, 530), mask.Span[..(600 * 530)].ToArray());
        VolumeWriter.Write(new VolumePath(dir.File("section.zarr"), null), section, VolumeWriteOptions.Default);

        string report = Python.Run(
            """
            import sys, zarr, numpy as np
            d = sys.argv[1]
            i = np.arange(20 * 300 * 270)
            mask = ((i // 7) % 3 == 0).astype('u1').reshape(20, 300, 270)
            conf = ((i % 1000) / 1024).astype('f4').reshape(20, 300, 270)
            out = []
            for name, ref in [('mask.zarr', mask), ('rows.zarr', mask[None]), ('confidence.zarr', conf[None]), ('section.zarr', mask.reshape(-1)[:600 * 530].reshape(600, 530))]:
                z = zarr.open(f"{d}/{name}", mode='r')
                out.append(f"{name}{z.shape}{int(np.array_equal(z[...], ref))}{z.attrs.get('resolution')}{z.attrs.get('method', '')}")
            print(' '.join(out))
            """,
            dir.Path);
        Assert.Equal(
            "mask.zarr(20, 300, 270)1[40, 8, 8]classical rows.zarr(1, 20, 300, 270)1[40, 8, 8] confidence.zarr(1, 20, 300, 270)1[40, 8, 8] section.zarr(600, 530)1None",
            report);
        Volumes.AssertEqual(mask, VolumeReader.Read(new VolumePath(dir.File("mask.zarr"), null)));
        Assert.Equal(new VoxelSize(40, 8, 8), VolumeReader.Read(new VolumePath(dir.File("rows.zarr"), null)).VoxelSize);

        var again = new VolumePath(dir.File("mask.zarr"), null);
        Assert.Throws<OutputExistsException>(() => VolumeWriter.Write(again, section, VolumeWriteOptions.Default));
        Volumes.AssertEqual(mask, VolumeReader.Read(again)); // untouched
        VolumeWriter.Write(again, section, new VolumeWriteOptions { Force = true });
        Volumes.AssertEqual(section, VolumeReader.Read(again));
        Directory.CreateDirectory(dir.File("group.zarr"));
        File.WriteAllText(Path.Combine(dir.File("group.zarr"), ".zgroup"), "{\"zarr_format\": 2}");
        Assert.Contains("not a Zarr array", Assert.Throws<VolumeFormatException>(() => VolumeWriter.Write(new VolumePath(dir.File("group.zarr"), null), section, new VolumeWriteOptions { Force = true })).Message, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(dir.File("group.zarr"), ".zgroup"))); // a group is never replaced
        Assert.DoesNotContain(Directory.GetFileSystemEntries(dir.Path), e => Path.GetFileName(e).StartsWith('.'));
    }
}
