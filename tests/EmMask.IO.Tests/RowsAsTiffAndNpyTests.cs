using EmMask.Core.Volumes;

namespace EmMask.IO.Tests;

/// <summary>
/// <see cref="VolumeWriter.WriteRows"/> into multi-page TIFF and npy (a block-wise run's mask and confidence map): the
/// files the in-memory writer makes of the same volume, rows asked for once each in scan order, and all outputs or none
/// when a write fails, is cancelled or is refused.
/// </summary>
public class RowsAsTiffAndNpyTests
{
    private static readonly Shape3 Shape = new(20, 30, 40);

    private static readonly VoxelSize Anisotropic = new(40, 8, 8);

    private static readonly Dictionary<string, string> Attributes = new() { ["method"] = "classical", ["blockwise"] = "true" };

    [Theory]
    [InlineData(".npy", 20, 2)]
    [InlineData(".npy", 1, 2)] // a 2D input's mask: an (H, W) array, as in memory
    [InlineData(".npy", 1, 3)] // a (1, H, W) input's: (1, H, W)
    [InlineData(".tif", 20, 2)]
    [InlineData(".tif", 1, 2)]
    public void StreamedFilesAreTheFilesTheInMemoryWriterMakes(string extension, int depth, int rank)
    {
        // Byte for byte: the same header (npy) or pages, tags and description (TIFF), and the same sidecar, so a
        // block-wise file reads back exactly as the in-memory one (values, dtype, shape, attributes, voxel size).
        using var dir = new TempDir();
        var shape = Shape with { Z = depth };
        var mask = Filled<byte>(shape, (z, y, x) => (byte)((x + (2 * y) + (3 * z)) % 3 == 0 ? 1 : 0));
        var confidence = Filled<float>(shape, (z, y, x) => ((x * 0.37f) + (y * 0.11f) + z) % 1f);
        var options = new VolumeWriteOptions { Attributes = Attributes, SingleSliceRank = rank };
        VolumeWriter.Write(VolumePath.Parse(dir.File("mem" + extension), "/mask"), mask, options);
        VolumeWriter.Write(VolumePath.Parse(dir.File("mem-c" + extension), "/confidence"), confidence, options);

        var maskRows = new ScanOrderRows<byte>(mask);
        var confidenceRows = new ScanOrderRows<float>(confidence);
        VolumeWriter.WriteRows(VolumePath.Parse(dir.File("rows" + extension), "/mask"), maskRows, options,
            confidence: (VolumePath.Parse(dir.File("rows-c" + extension), "/confidence"), confidenceRows));

        maskRows.AssertEveryRowOnce();
        confidenceRows.AssertEveryRowOnce();
        foreach (var (memory, rows) in new[] { ("mem", "rows"), ("mem-c", "rows-c") })
        {
            Assert.Equal(File.ReadAllBytes(dir.File(memory + extension)), File.ReadAllBytes(dir.File(rows + extension)));
            if (extension == ".npy")
            {
                Assert.Equal(File.ReadAllText(dir.File(memory + ".npy.json")), File.ReadAllText(dir.File(rows + ".npy.json")));
            }
        }

        var read = Assert.IsType<Volume<float>>(VolumeReader.Read(VolumePath.Parse(dir.File("rows-c" + extension), "/confidence")));
        Assert.Equal(confidence.Span.ToArray(), read.Span.ToArray());
        Assert.Equal(VolumeReader.Read(VolumePath.Parse(dir.File("mem-c" + extension), "/confidence")).VoxelSize, read.VoxelSize);
        bool twoD = depth == 1 && (extension == ".tif" || rank == 2);
        Assert.Equal(twoD ? Anisotropic with { Z = 1 } : Anisotropic, read.VoxelSize); // a 2D file stores (y, x) only
        Assert.Equal(mask.Span.ToArray(), Assert.IsType<Volume<byte>>(VolumeReader.Read(VolumePath.Parse(dir.File("rows" + extension), "/mask"))).Span.ToArray());
        Assert.Equal("true", VolumeReader.ReadAttributes(VolumePath.Parse(dir.File("rows" + extension), "/mask"))["blockwise"]);
        if (extension == ".npy")
        {
            Assert.Equal(depth == 1 && rank == 2 ? 2 : 3, VolumeReader.ReadRank(VolumePath.Parse(dir.File("rows.npy"), "/mask")));
        }

        Assert.DoesNotContain(dir.Entries(), e => e.Contains(".tmp-", StringComparison.Ordinal));
    }

    [TifffileFact]
    public void NumpyAndTifffileReadTheStreamedFiles()
    {
        using var dir = new TempDir();
        var confidence = Filled<float>(Shape, (z, y, x) => (x + y + z) / 100f);
        VolumeWriter.WriteRows(VolumePath.Parse(dir.File("m.npy"), "/mask"), new ScanOrderRows<byte>(Filled<byte>(Shape, (_, y, _) => (byte)(y % 2))), VolumeWriteOptions.Default,
            confidence: (VolumePath.Parse(dir.File("c.tif"), "/confidence"), new ScanOrderRows<float>(confidence)));
        string described = Python.Run(
            "import sys, numpy, tifffile; m = numpy.load(sys.argv[1]); c = tifffile.imread(sys.argv[2]); " +
            "print(m.dtype, m.shape, int(m[0, 1, 0]), c.dtype, c.shape, repr(float(c[19, 29, 39])))",
            dir.File("m.npy"), dir.File("c.tif"));
        Assert.Equal(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"uint8 (20, 30, 40) 1 float32 (20, 30, 40) {(double)confidence[19, 29, 39]:R}"), described);
    }

    [Theory]
    [InlineData("out.tif", "c.npy", false)]
    [InlineData("out.tif", "c.npy", true)]
    [InlineData("out.npy", "c.h5:/confidence", false)]
    [InlineData("out.npy", "c.h5:/confidence", true)]
    [InlineData("out.h5:/mask", "c.tif", false)]
    [InlineData("out.npy", "c.tif", true)]
    public void AWriteThatFailsMidwayLeavesEveryExistingOutputAsItWas(string maskOutput, string confidenceOutput, bool maskFails)
    {
        // Both outputs exist (an npy with its sidecar): whichever of the two fails, and whichever is written first, no
        // file changes and no temp file stays (each temp is renamed only once all are complete).
        using var dir = new TempDir();
        var mask = VolumePath.Parse(dir.File(maskOutput), "/mask");
        var target = VolumePath.Parse(dir.File(confidenceOutput), "/confidence");
        var old = new VolumeWriteOptions { Attributes = new Dictionary<string, string> { ["run"] = "old" } };
        VolumeWriter.Write(mask, Filled<byte>(Shape, (_, _, _) => 1), old);
        VolumeWriter.Write(target, Filled<float>(Shape, (_, _, _) => 0.25f), old);
        var before = Snapshot(dir);

        var goodMask = new ScanOrderRows<byte>(Filled<byte>(Shape, (_, _, _) => 0));
        var goodConfidence = new ScanOrderRows<float>(Filled<float>(Shape, (_, _, _) => 0.75f));
        var error = Assert.Throws<VolumeFormatException>(() => VolumeWriter.WriteRows(
            mask, maskFails ? new ScanOrderRows<byte>(Filled<byte>(Shape, (_, _, _) => 0), failAt: 17) : goodMask,
            Options(force: true), confidence: (target, maskFails ? goodConfidence : new ScanOrderRows<float>(Filled<float>(Shape, (_, _, _) => 0.75f), failAt: 17))));

        Assert.Contains("disk on fire", error.Message, StringComparison.Ordinal);
        AssertUnchanged(before, dir);
    }

    [Fact]
    public void ACancelledWriteLeavesEveryExistingOutputAsItWas()
    {
        using var dir = new TempDir();
        var mask = VolumePath.Parse(dir.File("out.npy"), "/mask");
        var target = VolumePath.Parse(dir.File("c.tif"), "/confidence");
        VolumeWriter.Write(mask, Filled<byte>(Shape, (_, _, _) => 1), Options(force: false));
        VolumeWriter.Write(target, Filled<float>(Shape, (_, _, _) => 0.25f), Options(force: false));
        var before = Snapshot(dir);

        using var cancel = new CancellationTokenSource();
        var cancelling = new ScanOrderRows<float>(Filled<float>(Shape, (_, _, _) => 0.75f), onRow: z =>
        {
            if (z == 10)
            {
                cancel.Cancel();
            }
        });
        Assert.ThrowsAny<OperationCanceledException>(() => VolumeWriter.WriteRows(
            mask, new ScanOrderRows<byte>(Filled<byte>(Shape, (_, _, _) => 0)), Options(force: true), cancel.Token, confidence: (target, cancelling)));

        AssertUnchanged(before, dir);
    }

    [Theory]
    [InlineData("out.npy", "c.tif", 0, "exists")] // the mask exists, no Force
    [InlineData("new.npy", "c.tif", 0, "exists")] // the confidence map exists, no Force: the new mask is not written either
    [InlineData("m_*.tif", "new-c.tif", 0, "one file per section")]
    [InlineData("m.png", "new-c.tif", 0, "single-section images")]
    [InlineData("new.tif", "c_*.tif", 0, "one file per section")]
    [InlineData("new.npy", "new.npy", 0, "is the mask's file")]
    [InlineData("new.tif", "new-c.tif", 1, "--multiscale")]
    public void RefusedOutputsChangeNothing(string maskOutput, string confidenceOutput, int levels, string message)
    {
        using var dir = new TempDir();
        VolumeWriter.Write(VolumePath.Parse(dir.File("out.npy"), "/mask"), Filled<byte>(Shape, (_, _, _) => 1), Options(force: false));
        VolumeWriter.Write(VolumePath.Parse(dir.File("c.tif"), "/confidence"), Filled<float>(Shape, (_, _, _) => 0.25f), Options(force: false));
        var before = Snapshot(dir);
        var rows = new ScanOrderRows<byte>(Filled<byte>(Shape, (_, _, _) => 0));
        var coarser = Enumerable.Range(1, levels).Select(k => ("_s" + k, (IRowSource<byte>)rows, (IReadOnlyDictionary<string, string>)Attributes)).ToList();

        var error = Assert.ThrowsAny<Exception>(() => VolumeWriter.WriteRows(
            VolumePath.Parse(dir.File(maskOutput), "/mask"), rows, Options(force: false), levels: coarser,
            confidence: (VolumePath.Parse(dir.File(confidenceOutput), "/confidence"), new ScanOrderRows<float>(Filled<float>(Shape, (_, _, _) => 0.5f)))));

        Assert.True(error is ArgumentException or OutputExistsException, error.ToString());
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        AssertUnchanged(before, dir);
    }

    [Fact]
    public void AStaleSidecarGoesWhenThereIsNothingToStoreAsInMemory()
    {
        // An earlier run's sidecar would attach its attributes and voxel size to the new array.
        using var dir = new TempDir();
        foreach (string name in new[] { "mem.npy", "rows.npy" })
        {
            VolumeWriter.Write(VolumePath.Parse(dir.File(name), "/mask"), Filled<byte>(Shape, (_, _, _) => 1), Options(force: false));
            Assert.True(File.Exists(dir.File(name + ".json")));
        }

        var plain = new Volume<byte>(Shape);
        VolumeWriter.Write(VolumePath.Parse(dir.File("mem.npy"), "/mask"), plain, VolumeWriteOptions.Default with { Force = true });
        VolumeWriter.WriteRows(VolumePath.Parse(dir.File("rows.npy"), "/mask"), new ScanOrderRows<byte>(plain), VolumeWriteOptions.Default with { Force = true });

        Assert.Equal(["mem.npy", "rows.npy"], dir.Entries());
        Assert.Equal(File.ReadAllBytes(dir.File("mem.npy")), File.ReadAllBytes(dir.File("rows.npy")));
    }

    private static VolumeWriteOptions Options(bool force) => new() { Force = force, Attributes = Attributes };

    private static Volume<T> Filled<T>(Shape3 shape, Func<int, int, int, T> value)
        where T : unmanaged
    {
        var volume = new Volume<T>(shape, Anisotropic);
        for (int z = 0; z < shape.Z; z++)
        {
            for (int y = 0; y < shape.Y; y++)
            {
                for (int x = 0; x < shape.X; x++)
                {
                    volume[z, y, x] = value(z, y, x);
                }
            }
        }

        return volume;
    }

    // Every file (hidden temps included) and its bytes.
    private static Dictionary<string, byte[]> Snapshot(TempDir dir) => dir.Entries().ToDictionary(e => e, e => File.ReadAllBytes(dir.File(e)));

    private static void AssertUnchanged(Dictionary<string, byte[]> before, TempDir dir)
    {
        var after = Snapshot(dir);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (name, bytes) in before)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(after[name]), $"{name} changed");
        }
    }

    /// <summary>
    /// A volume handed out row by row that fails a test if a row is asked for out of scan order or twice (a streaming
    /// writer goes through once), and can throw an IOException at section <c>failAt</c>.
    /// </summary>
    private sealed class ScanOrderRows<T>(Volume<T> volume, int failAt = -1, Action<int>? onRow = null) : IRowSource<T>
        where T : unmanaged
    {
        private long next;

        public Shape3 Shape => volume.Shape;

        public VoxelSize VoxelSize => volume.VoxelSize;

        public void CopyRow(int z, int y, Span<T> destination)
        {
            Assert.Equal(next, ((long)z * Shape.Y) + y);
            next++;
            onRow?.Invoke(z);
            if (z == failAt)
            {
                throw new IOException("disk on fire");
            }

            volume.Row(z, y).CopyTo(destination);
        }

        public void AssertEveryRowOnce() => Assert.Equal((long)Shape.Z * Shape.Y, next);
    }
}
