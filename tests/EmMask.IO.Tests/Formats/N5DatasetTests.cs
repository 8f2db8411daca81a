using EmMask.Core.Volumes;
using EmMask.IO.Formats;

namespace EmMask.IO.Tests.Formats;

/// <summary>
/// N5 datasets as zarr-python's N5Store writes them (whole blocks) and as the Java N5 libraries write them (edge blocks
/// cut short, written here by hand), read whole and block by block.
/// </summary>
public class N5DatasetTests
{
    private const string MakeDatasets = """
        import sys, gzip, json, os, struct, zarr, numcodecs, numpy as np
        from zarr.n5 import N5Store
        out = sys.argv[1]
        smooth = (np.arange(5 * 70 * 90).reshape(5, 70, 90) % 300).astype('u2')
        store = N5Store(f"{out}/c.n5")
        for name, a, compressor in [('gzip', smooth, numcodecs.GZip(5)), ('raw_f4', smooth.astype('f4') / 3, None),
                                    ('blosc_u8', (smooth % 256).astype('u1'), numcodecs.Blosc('lz4')), ('zlib_i2', smooth.astype('i2') - 100, numcodecs.Zlib(3))]:
            z = zarr.create(store=store, path=name, shape=a.shape, chunks=(2, 32, 40), dtype=a.dtype, compressor=compressor)
            z[...] = a
            np.save(f"{out}/{name}.npy", a if a.dtype in (np.uint8, np.uint16, np.float32) else a.astype('f4'))
        # As the Java libraries write it: blocks cut short at the edges, pixelResolution in nm, x first.
        d = f"{out}/java.n5/raw"
        os.makedirs(d)
        json.dump({'dimensions': [90, 70, 5], 'blockSize': [40, 32, 2], 'dataType': 'uint16', 'compression': {'type': 'gzip'},
                   'pixelResolution': {'dimensions': [4.0, 4.0, 40.0], 'unit': 'nm'}}, open(f"{d}/attributes.json", 'w'))
        json.dump({'n5': '2.5.0'}, open(f"{out}/java.n5/attributes.json", 'w'))
        for kz in range(3):
            for ky in range(3):
                for kx in range(3):
                    block = smooth[kz * 2:(kz + 1) * 2, ky * 32:(ky + 1) * 32, kx * 40:(kx + 1) * 40]
                    if (kz, ky, kx) == (1, 1, 1):
                        continue  # never written: the fill value, 0
                    header = struct.pack('>HH3I', 0, 3, block.shape[2], block.shape[1], block.shape[0])
                    os.makedirs(f"{d}/{kx}/{ky}", exist_ok=True)
                    open(f"{d}/{kx}/{ky}/{kz}", 'wb').write(header + gzip.compress(block.astype('>u2').tobytes()))
        expected = smooth.copy()
        expected[2:4, 32:64, 40:80] = 0
        np.save(f"{out}/java.npy", expected)
        """;

    [PythonTheory(Module.Zarr)]
    [InlineData("c.n5/gzip", "gzip.npy")]
    [InlineData("c.n5/raw_f4", "raw_f4.npy")]
    [InlineData("c.n5/blosc_u8", "blosc_u8.npy")]
    [InlineData("c.n5/zlib_i2", "zlib_i2.npy")]
    [InlineData("java.n5/raw", "java.npy")]
    public void ADatasetReadsAsItsVoxelsWholeAndBlockByBlock(string dataset, string reference)
    {
        using var dir = new TempDir();
        Python.Run(MakeDatasets, dir.Path);
        var path = new VolumePath(Path.Combine(dir.Path, dataset), null);
        Assert.Equal(VolumeFileKind.N5, path.Kind);
        var expected = VolumeReader.Read(new VolumePath(dir.File(reference), null));
        var volume = VolumeReader.Read(path);
        Volumes.AssertEqual(expected, volume);
        var (offset, size) = ((1, 20, 30), new Shape3(3, 45, 50));
        Volumes.AssertEqual(VolumeRegions.Crop(expected, offset, size), VolumeReader.ReadBlock(path, offset, size));
        if (dataset.StartsWith("java", StringComparison.Ordinal))
        {
            Assert.Equal(new VoxelSize(40, 4, 4), volume.VoxelSize);
            Assert.Contains("is an N5 container or group, not a dataset; name one of its datasets", Assert.Throws<VolumeFormatException>(() => VolumeReader.Read(new VolumePath(dir.File("java.n5"), null))).Message, StringComparison.Ordinal);
            Assert.Contains("N5 is read, not written", Assert.Throws<VolumeFormatException>(() => VolumeWriter.Write(new VolumePath(dir.File("out.n5"), null), volume, VolumeWriteOptions.Default)).Message, StringComparison.Ordinal);
        }
    }
}
