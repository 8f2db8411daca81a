using EmMask.Core.Blockwise;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Blockwise;

/// <summary>A stack streamed from its sections (<see cref="SectionRows{T}"/>) and one section of a stack read as a volume (<see cref="SectionSource"/>).</summary>
public class SectionRowsTests
{
    private static Volume<byte> Stack()
    {
        var v = new Volume<byte>(new Shape3(40, 3, 5), VoxelSize.Isotropic);
        var s = v.Span;
        for (int i = 0; i < s.Length; i++)
        {
            s[i] = (byte)(i * 7);
        }

        return v;
    }

    [Fact]
    public void RowsAreTheSectionsRowsAndAtMostReachPlusOneSectionsAreHeld()
    {
        var stack = Stack();
        var made = new List<int>();
        var rows = new SectionRows<byte>(stack.Shape, stack.VoxelSize, z =>
        {
            made.Add(z);
            return new VolumeRows(VolumeRegions.Crop(stack, (z, 0, 0), new Shape3(1, 3, 5)));
        }, reach: 4);
        var row = new byte[5];
        int most = 0;

        // In bands of 4 sections, y inside z, as a chunked writer goes: every row is the stack's row.
        for (int z0 = 0; z0 < 40; z0 += 4)
        {
            for (int y = 0; y < 3; y++)
            {
                for (int z = z0; z < z0 + 4; z++)
                {
                    rows.CopyRow(z, y, row);
                    Assert.Equal(stack.Row(z, y).ToArray(), row);
                    most = Math.Max(most, rows.Held);
                }
            }
        }

        Assert.Equal(Enumerable.Range(0, 40), made); // each section made once
        Assert.InRange(most, 4, 5);
        Assert.Equal(0, rows.Held); // all dropped after the last row
    }

    [Fact]
    public void GoingBackFurtherThanTheReachIsAnError()
    {
        var stack = Stack();
        var rows = new SectionRows<byte>(stack.Shape, stack.VoxelSize, z => new VolumeRows(VolumeRegions.Crop(stack, (z, 0, 0), new Shape3(1, 3, 5))), reach: 2);
        var row = new byte[5];
        rows.CopyRow(0, 0, row);
        rows.CopyRow(5, 0, row);
        Assert.Throws<InvalidOperationException>(() => rows.CopyRow(1, 0, row));
    }

    [Fact]
    public void ASectionOfAnotherShapeIsAnError()
    {
        var stack = Stack();
        var rows = new SectionRows<byte>(stack.Shape, stack.VoxelSize, z => new VolumeRows(VolumeRegions.Crop(stack, (z, 0, 0), new Shape3(1, 2, 5))), reach: 0);
        Assert.Throws<InvalidOperationException>(() => rows.CopyRow(0, 0, new byte[5]));
    }

    [Fact]
    public void ASectionSourceReadsItsOwnSectionOnly()
    {
        var stack = Stack();
        var section = new SectionSource(new VolumeBlockSource(stack), 7);
        Assert.Equal(new Shape3(1, 3, 5), section.Shape);
        var read = (Volume<byte>)section.Read((0, 1, 2), new Shape3(1, 2, 3), CancellationToken.None);
        Assert.Equal(stack[7, 1, 2], read[0, 0, 0]);
        Assert.Equal(stack[7, 2, 4], read[0, 1, 2]);
        Assert.Throws<ArgumentOutOfRangeException>(() => section.Read((1, 0, 0), new Shape3(1, 1, 1), CancellationToken.None));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SectionSource(new VolumeBlockSource(stack), 40));
    }
}
