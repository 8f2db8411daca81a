using EmMask.Core.Volumes;

namespace EmMask.IO.Tests.Formats;

/// <summary>A folder or a pattern of section files read as one stack, in natural order, checked file by file.</summary>
public class SectionSequenceTests
{
    private static Volume<byte> Section(int seed, int height = 12, int width = 10)
    {
        var v = new Volume<byte>(new Shape3(1, height, width));
        for (int i = 0; i < v.Span.Length; i++)
        {
            v.Span[i] = (byte)((seed * 31) + (i * 7));
        }

        return v;
    }

    private static void Write(string file, IVolume v) => VolumeWriter.Write(VolumePath.Parse(file, "/raw"), v, new VolumeWriteOptions());

    [Fact]
    public void AFolderOfSectionsIsAStackInNaturalOrder()
    {
        using var dir = new TempDir();
        Write(dir.File("s10.png"), Section(10));
        Write(dir.File("s2.png"), Section(2));
        Write(dir.File("s1.png"), Section(1));
        File.WriteAllText(dir.File("notes.txt"), "not a section");
        foreach (string text in new[] { dir.Path, Path.Combine(dir.Path, "s*.png") })
        {
            var path = VolumePath.Parse(text, "/raw");
            Assert.Equal(VolumeFileKind.Sequence, path.Kind);
            Assert.Equal(new Shape3(3, 12, 10), VolumeReader.ReadShape(path));
            Assert.Equal(3, VolumeReader.ReadRank(path));
            var stack = (Volume<byte>)VolumeReader.Read(path);
            Assert.Equal(new Shape3(3, 12, 10), stack.Shape);
            int plane = 120;
            Assert.Equal(Section(1).Span.ToArray(), stack.Span[..plane].ToArray());
            Assert.Equal(Section(2).Span.ToArray(), stack.Span.Slice(plane, plane).ToArray());
            Assert.Equal(Section(10).Span.ToArray(), stack.Span.Slice(2 * plane, plane).ToArray());

            // A block reads only its own sections, cropped.
            var block = (Volume<byte>)VolumeReader.ReadBlock(path, (1, 2, 3), new Shape3(2, 4, 5));
            Assert.Equal(new Shape3(2, 4, 5), block.Shape);
            Assert.Equal(stack[1, 2, 3], block[0, 0, 0]);
            Assert.Equal(stack[2, 5, 7], block[1, 3, 4]);
        }
    }

    [Fact]
    public void TiffSectionsKeepTheirTypeAndVoxelSize()
    {
        using var dir = new TempDir();
        for (int z = 0; z < 3; z++)
        {
            var v = new Volume<ushort>(new Shape3(1, 6, 8), new VoxelSize(50, 4, 4));
            for (int i = 0; i < v.Span.Length; i++)
            {
                v.Span[i] = (ushort)((z * 1000) + i);
            }

            Write(dir.File($"sec_{z:D3}.tif"), v);
        }

        var stack = (Volume<ushort>)VolumeReader.Read(VolumePath.Parse(Path.Combine(dir.Path, "sec_*.tif"), "/raw"));
        Assert.Equal(new Shape3(3, 6, 8), stack.Shape);
        Assert.Equal(2047, stack[2, 5, 7]);
        Assert.Equal(4, stack.VoxelSize.Y);
    }

    [Fact]
    public void AMismatchedOrEmptySequenceIsOneClearError()
    {
        using var dir = new TempDir();
        Write(dir.File("a1.png"), Section(1));
        Write(dir.File("a2.png"), Section(2, height: 11));
        var ex = Assert.Throws<VolumeFormatException>(() => VolumeReader.Read(VolumePath.Parse(dir.Path, "/raw")));
        Assert.Contains(dir.File("a2.png"), ex.Message);
        Assert.Contains("must match", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);

        var none = Assert.Throws<VolumeFormatException>(() => VolumeReader.Read(VolumePath.Parse(Path.Combine(dir.Path, "b*.png"), "/raw")));
        Assert.Contains("no section files", none.Message);
        var noFolder = Assert.Throws<VolumeFormatException>(() => VolumeReader.ReadShape(VolumePath.Parse(Path.Combine(dir.Path, "missing", "*.png"), "/raw")));
        Assert.Contains("not found", noFolder.Message);
        var output = Assert.Throws<VolumeFormatException>(() => Write(dir.Path, Section(1)));
        Assert.Contains("pattern with one *", output.Message);
    }

    [Fact]
    public void ABlockDecodesOnlyItsOwnSectionsAndChecksTheFirstFilesShapeFromItsHeader()
    {
        using var dir = new TempDir();
        for (int z = 0; z < 3; z++)
        {
            Write(dir.File($"s{z}.png"), Section(z));
        }

        // The first file's header is intact but its data is cut short: a block further down never decodes it.
        byte[] first = File.ReadAllBytes(dir.File("s0.png"));
        File.WriteAllBytes(dir.File("s0.png"), first[..(first.Length - 30)]);
        var path = VolumePath.Parse(dir.Path, "/raw");
        var block = (Volume<byte>)VolumeReader.ReadBlock(path, (1, 0, 0), new Shape3(2, 12, 10));
        Assert.Equal(Section(1).Span.ToArray(), block.Span[..120].ToArray());
        Assert.Equal(Section(2).Span.ToArray(), block.Span[120..].ToArray());
        var truncated = Assert.Throws<VolumeFormatException>(() => VolumeReader.ReadBlock(path, (0, 0, 0), new Shape3(1, 12, 10)));
        Assert.Contains("truncated", truncated.Message);

        // A block's sections still must match the first file's shape, read from its header.
        Write(dir.File("s3.png"), Section(3, height: 11));
        File.Delete(dir.File("s1.png"));
        File.Delete(dir.File("s2.png"));
        var ex = Assert.Throws<VolumeFormatException>(() => VolumeReader.ReadBlock(path, (1, 0, 0), new Shape3(1, 11, 10)));
        Assert.Contains(dir.File("s3.png"), ex.Message);
        Assert.Contains("must match", ex.Message);
    }

    [Fact]
    public void AStackWrittenThroughAPatternReadsBackAsTheSameStackAllOrNothing()
    {
        using var dir = new TempDir();
        var stack = new Volume<byte>(new Shape3(3, 12, 10));
        for (int i = 0; i < stack.Span.Length; i++)
        {
            stack.Span[i] = (byte)(i % 2);
        }

        string pattern = Path.Combine(dir.Path, "m_*.png");
        Write(pattern, stack);
        Assert.Equal(["m_0000.png", "m_0001.png", "m_0002.png"], dir.Entries());
        Assert.Equal(stack.Span.ToArray(), ((Volume<byte>)VolumeReader.Read(VolumePath.Parse(pattern, "/raw"))).Span.ToArray());

        // Without Force an existing file of the pattern is an error and nothing changes; with it every file is replaced.
        byte[] before = File.ReadAllBytes(dir.File("m_0001.png"));
        var flipped = new Volume<byte>(stack.Shape, stack.Span.ToArray().Select(b => (byte)(1 - b)).ToArray());
        Assert.Throws<OutputExistsException>(() => Write(pattern, flipped));
        Assert.Equal(before, File.ReadAllBytes(dir.File("m_0001.png")));
        VolumeWriter.Write(VolumePath.Parse(pattern, "/raw"), flipped, new VolumeWriteOptions { Force = true });
        Assert.Equal(flipped.Span.ToArray(), ((Volume<byte>)VolumeReader.Read(VolumePath.Parse(pattern, "/raw"))).Span.ToArray());

        // TIFF sections hold other types; PNG ones only uint8; a name needs one *.
        var wide = new Volume<ushort>(new Shape3(2, 5, 4));
        wide.Span.Fill(40000);
        string tiffs = Path.Combine(dir.Path, "w_*.tif");
        Write(tiffs, wide);
        Assert.Equal(wide.Span.ToArray(), ((Volume<ushort>)VolumeReader.Read(VolumePath.Parse(tiffs, "/raw"))).Span.ToArray());
        var png16 = Assert.Throws<VolumeFormatException>(() => Write(Path.Combine(dir.Path, "x_*.png"), wide));
        Assert.Contains("8-bit", png16.Message);
        Assert.Throws<VolumeFormatException>(() => Write(Path.Combine(dir.Path, "y_*_*.png"), stack));
        Assert.DoesNotContain(dir.Entries(), e => e.StartsWith('x') || e.StartsWith('y') || e.StartsWith('.'));
    }
}
