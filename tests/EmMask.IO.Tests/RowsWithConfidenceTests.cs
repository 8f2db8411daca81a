using EmMask.Core.Volumes;
using PureHDF;

namespace EmMask.IO.Tests;

/// <summary>
/// <see cref="VolumeWriter.WriteRows"/> with a confidence map (a block-wise run's): float32 rows streamed beside the
/// mask, in its file or in another, all or none.
/// </summary>
public class RowsWithConfidenceTests
{
    private static readonly Shape3 Shape = new(20, 30, 40);

    [Theory]
    [InlineData("c.h5:/confidence")]
    [InlineData("out.h5:/confidence")]
    public void TheConfidenceRowsAreWrittenAsFloat32BesideTheMask(string confidence)
    {
        using var dir = new TempDir();
        var mask = VolumePath.Parse(dir.File("out.h5"), "/mask");
        var target = VolumePath.Parse(dir.File(confidence), "/confidence");
        VolumeWriter.WriteRows(mask, new Rows<byte>(Shape, (z, y, x) => (byte)((x + y + z) % 2)), VolumeWriteOptions.Default, confidence: (target, new Rows<float>(Shape, (z, y, x) => x / 40f)));

        using (var h5 = H5File.OpenRead(target.File))
        {
            var type = h5.Dataset("/confidence").Type; // VolumeReader hands float64 back as float32 too
            Assert.Equal((H5DataTypeClass.FloatingPoint, 4), (type.Class, type.Size));
        }

        var read = Assert.IsType<Volume<float>>(VolumeReader.Read(target));
        Assert.Equal(Shape, read.Shape);
        Assert.Equal(39 / 40f, read[3, 4, 39]);
        Assert.Equal((byte)1, ((Volume<byte>)VolumeReader.Read(mask))[0, 0, 1]);
        Assert.Equal(["confidence", "mask"], VolumeReader.ListDatasets(mask.File).Concat(target.File == mask.File ? [] : VolumeReader.ListDatasets(target.File)).Select(d => d.Trim('/')).Order());
    }

    [Fact]
    public void AConfidenceMapThatFailsMidWriteLeavesTheMaskAndTheMapAsTheyWere()
    {
        // Both files exist: the run's new mask is complete when the map's rows fail, and still neither file changes (the
        // mask's temp is renamed only once the map's is complete too).
        using var dir = new TempDir();
        var mask = VolumePath.Parse(dir.File("out.h5"), "/mask");
        var target = VolumePath.Parse(dir.File("c.h5"), "/confidence");
        VolumeWriter.Write(mask, new Volume<byte>(Shape), VolumeWriteOptions.Default);
        VolumeWriter.Write(target, new Volume<float>(Shape), VolumeWriteOptions.Default);
        byte[] maskBefore = File.ReadAllBytes(mask.File), confidenceBefore = File.ReadAllBytes(target.File);
        var entries = dir.Entries();

        var failing = new Rows<float>(Shape, (z, y, x) => z < 17 ? 0.5f : throw new IOException("disk on fire"));
        var error = Assert.Throws<VolumeFormatException>(() => VolumeWriter.WriteRows(
            mask, new Rows<byte>(Shape, (_, _, _) => 1), VolumeWriteOptions.Default with { Force = true }, confidence: (target, failing)));

        Assert.Contains("disk on fire", error.Message, StringComparison.Ordinal);
        Assert.Equal(maskBefore, File.ReadAllBytes(mask.File));
        Assert.Equal(confidenceBefore, File.ReadAllBytes(target.File));
        Assert.Equal(entries, dir.Entries());
    }

    [Fact]
    public void AConfidenceMapIsNotStreamedIntoOneFilePerSection()
    {
        // HDF5, TIFF and npy take rows (RowsAsTiffAndNpyTests); a pattern of section files does not.
        using var dir = new TempDir();
        var error = Assert.Throws<ArgumentException>(() => VolumeWriter.WriteRows(
            VolumePath.Parse(dir.File("out.h5"), "/mask"), new Rows<byte>(Shape, (_, _, _) => 1), VolumeWriteOptions.Default,
            confidence: (VolumePath.Parse(dir.File("c_*.tif"), "/confidence"), new Rows<float>(Shape, (_, _, _) => 0))));
        Assert.Contains("the confidence map is streamed row by row into one HDF5, TIFF, npy or MRC file", error.Message, StringComparison.Ordinal);
        Assert.Empty(dir.Entries());
    }

    private sealed class Rows<T>(Shape3 shape, Func<int, int, int, T> value) : IRowSource<T>
        where T : unmanaged
    {
        public Shape3 Shape => shape;

        public VoxelSize VoxelSize => VoxelSize.Isotropic;

        public void CopyRow(int z, int y, Span<T> destination)
        {
            for (int x = 0; x < destination.Length; x++)
            {
                destination[x] = value(z, y, x);
            }
        }
    }
}
