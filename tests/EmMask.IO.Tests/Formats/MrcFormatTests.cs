using System.Buffers.Binary;
using EmMask.Core.Volumes;
using EmMask.IO.Formats;

namespace EmMask.IO.Tests.Formats;

/// <summary>MRC files written by mrcfile (the CCP-EM reference library) read here, and files written here read by it.</summary>
public class MrcFormatTests
{
    // Each array as MRC (mrcfile) and as <name>.npy (the voxels expected, as float32 where the reader converts).
    private const string MakeFiles = """
        import sys, mrcfile, numpy as np
        out = sys.argv[1]
        rng = np.random.default_rng(3)
        arrays = {
            'int8': rng.integers(-128, 128, (3, 10, 12)).astype('i1'),
            'int16': rng.integers(-3000, 3000, (3, 10, 12)).astype('i2'),
            'float32': rng.standard_normal((3, 10, 12)).astype('f4'),
            'uint16': rng.integers(0, 65535, (3, 10, 12)).astype('u2'),
            'float16': rng.standard_normal((3, 10, 12)).astype('f2'),
            'big_f4': rng.standard_normal((3, 10, 12)).astype('>f4'),
            'image': rng.integers(0, 65535, (10, 12)).astype('u2'),
        }
        for name, a in arrays.items():
            with mrcfile.new(f"{out}/{name}.mrc") as m:
                m.set_data(a)
                m.voxel_size = (2.0, 3.0, 40.0)  # x, y, z in Å
            np.save(f"{out}/{name}.npy", a.astype('<f4') if a.dtype.kind in 'if' and a.dtype != np.dtype('<f4') else a)
        with mrcfile.new(f"{out}/extended.mrc") as m:
            m.set_data(arrays['uint16'])
            m.set_extended_header(np.arange(40, dtype='u1'))
        """;

    [PythonFact(Module.Mrcfile)]
    public void FilesWrittenByMrcfileReadAsTheirVoxelsWithTheirVoxelSize()
    {
        using var dir = new TempDir();
        Python.Run(MakeFiles, dir.Path);
        foreach (string name in new[] { "int8", "int16", "float32", "uint16", "float16", "big_f4", "image", "extended" })
        {
            var mrc = new VolumePath(dir.File(name + ".mrc"), null);
            Assert.Equal(VolumeFileKind.Mrc, mrc.Kind);
            var volume = VolumeReader.Read(mrc);
            var expected = VolumeReader.Read(new VolumePath(dir.File((name == "extended" ? "uint16" : name) + ".npy"), null));
            Assert.Equal(expected.VoxelType, volume.VoxelType);
            Assert.Equal(expected.Shape, volume.Shape);
            Volumes.AssertEqual(expected, volume);
            var (offset, size) = volume.Shape.Z > 1 ? ((1, 2, 3), new Shape3(2, 5, 6)) : ((0, 2, 3), new Shape3(1, 5, 6));
            Volumes.AssertEqual(VolumeRegions.Crop(expected, offset, size), VolumeReader.ReadBlock(mrc, offset, size));
            if (name != "extended")
            {
                Assert.Equal(0.2, volume.VoxelSize.X, 5);
                Assert.Equal(0.3, volume.VoxelSize.Y, 5);
                Assert.Equal(name == "image" ? 1 : 4, volume.VoxelSize.Z, 5);
            }
        }

        Assert.Equal(2, VolumeReader.ReadRank(new VolumePath(dir.File("image.mrc"), null)));
        Assert.Equal(3, VolumeReader.ReadRank(new VolumePath(dir.File("int8.mrc"), null)));
    }

    [PythonFact(Module.Mrcfile)]
    public void FilesWrittenHereAreValidForMrcfileAndHoldTheVoxels()
    {
        using var dir = new TempDir();
        var mask = new Volume<byte>(new Shape3(3, 10, 12));
        for (int i = 0; i < mask.Span.Length; i++)
        {
            mask.Span[i] = (byte)(i % 5 == 0 ? 1 : 0);
        }

        mask.SetVoxelSize(new VoxelSize(40, 4, 4));
        var confidence = new Volume<float>(mask.Shape, [.. mask.Span.ToArray().Select((v, i) => (v * 0.5f) + (i / 1024f))]);
        var wide = new Volume<ushort>(mask.Shape, [.. Enumerable.Range(0, mask.Span.Length).Select(i => (ushort)(i * 97))]);
        var options = new VolumeWriteOptions { Attributes = new Dictionary<string, string> { ["method"] = "classical" } };
        VolumeWriter.Write(new VolumePath(dir.File("mask.mrc"), null), mask, options);
        VolumeWriter.Write(new VolumePath(dir.File("confidence.mrc"), null), confidence, VolumeWriteOptions.Default);
        VolumeWriter.Write(new VolumePath(dir.File("wide.rec"), null), wide, VolumeWriteOptions.Default);
        VolumeWriter.WriteRows(new VolumePath(dir.File("rows.mrc"), null), new VolumeRows(mask), VolumeWriteOptions.Default);

        string report = Python.Run(
            """
            import sys, io, contextlib, mrcfile, numpy as np
            d = sys.argv[1]
            mask = (np.arange(3 * 10 * 12) % 5 == 0).astype('u1').reshape(3, 10, 12)
            conf = (mask * 0.5 + np.arange(mask.size).reshape(mask.shape) / 1024).astype("f4")
            wide = (np.arange(mask.size) * 97).astype('u2').reshape(mask.shape)
            out = []
            for name, ref in [('mask.mrc', mask), ('rows.mrc', mask), ('confidence.mrc', conf), ('wide.rec', wide)]:
                with contextlib.redirect_stdout(io.StringIO()) as log:
                    valid = mrcfile.validate(f"{d}/{name}")
                with mrcfile.open(f"{d}/{name}", permissive=False) as m:
                    same = np.array_equal(m.data.astype(ref.dtype), ref)
                    h = m.header
                    stats = np.isclose(h.dmin, ref.min()) and np.isclose(h.dmax, ref.max()) and np.isclose(h.dmean, ref.mean(), rtol=1e-4)
                    out.append(f"{name}:{int(valid)}{int(same)}{int(stats)}:{m.voxel_size.x:.1f},{m.voxel_size.z:.1f}" + ("" if valid else log.getvalue().replace(chr(10), ' ')))
            print(' '.join(out))
            """,
            dir.Path);
        Assert.Equal("mask.mrc:111:40.0,400.0 rows.mrc:111:40.0,400.0 confidence.mrc:111:0.0,0.0 wide.rec:111:0.0,0.0", report);

        var back = VolumeReader.Read(new VolumePath(dir.File("mask.mrc"), null));
        Assert.Equal(VoxelType.UInt8, back.VoxelType); // IMOD's stamp: the bytes are unsigned
        Volumes.AssertEqual(mask, back);
        Assert.Equal(40, back.VoxelSize.Z, 4);
        Assert.Equal("classical", VolumeReader.ReadAttributes(new VolumePath(dir.File("mask.mrc"), null))["method"]);
    }

    [Fact]
    public void BadFilesGiveOneLineNamingTheProblem()
    {
        using var dir = new TempDir();
        var volume = new Volume<ushort>(new Shape3(2, 4, 5));
        string good = dir.File("good.mrc");
        VolumeWriter.Write(new VolumePath(good, null), volume, VolumeWriteOptions.Default);
        byte[] bytes = File.ReadAllBytes(good);

        void Variant(string name, Action<byte[]> change, params string[] expected)
        {
            byte[] copy = [.. bytes];
            change(copy);
            File.WriteAllBytes(dir.File(name), copy);
            var ex = Assert.Throws<VolumeFormatException>(() => VolumeReader.Read(new VolumePath(dir.File(name), null)));
            foreach (string e in expected)
            {
                Assert.Contains(e, ex.Message, StringComparison.Ordinal);
            }

            Assert.DoesNotContain('\n', ex.Message);
        }

        File.WriteAllBytes(dir.File("truncated.mrc"), bytes[..^1]);
        Assert.Contains("truncated MRC file", Assert.Throws<VolumeFormatException>(() => VolumeReader.Read(new VolumePath(dir.File("truncated.mrc"), null))).Message, StringComparison.Ordinal);
        Variant("complex.mrc", b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(12), 4), "mode 4", "complex");
        Variant("nibbles.mrc", b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(12), 101), "mode 101", "8 bits");
        Variant("axes.mrc", b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(64), 2), "axis order (2, 2, 3)");
        Variant("empty.mrc", b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(8), 0), "0-length axis");
        File.WriteAllBytes(dir.File("short.mrc"), bytes[..100]);
        Assert.Contains("not an MRC file", Assert.Throws<VolumeFormatException>(() => VolumeReader.Read(new VolumePath(dir.File("short.mrc"), null))).Message, StringComparison.Ordinal);
        Assert.Contains("file not found", Assert.Throws<VolumeFormatException>(() => VolumeReader.Read(new VolumePath(dir.File("missing.mrc"), null))).Message, StringComparison.Ordinal);
        Assert.Throws<VolumeFormatException>(() => VolumeWriter.Write(new VolumePath(dir.File("labels.mrc"), null), new Volume<int>(new Shape3(1, 2, 2)), VolumeWriteOptions.Default));
        Assert.False(File.Exists(dir.File("labels.mrc"))); // nothing left behind
    }
}
