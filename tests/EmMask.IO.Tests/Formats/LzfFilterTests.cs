using EmMask.IO.Formats;

namespace EmMask.IO.Tests.Formats;

/// <summary>liblzf's format, decoded by <see cref="LzfFilter"/>: literal runs, back references (overlapping ones too), and corrupt data refused.</summary>
public class LzfFilterTests
{
    [Fact]
    public void LiteralRunsAndOverlappingReferencesDecode()
    {
        // "abc" as a literal run (ctrl 2 = 3 bytes), then 7 bytes from 3 back (ctrl (7 - 2) << 5, offset byte 2):
        // the reference overlaps what it writes, so the pattern repeats.
        byte[] lzf = [2, (byte)'a', (byte)'b', (byte)'c', 5 << 5, 2];
        var output = new byte[10];

        Assert.Equal(10, LzfFilter.Decompress(lzf, output));
        Assert.Equal("abcabcabca", System.Text.Encoding.ASCII.GetString(output));
    }

    [Fact]
    public void LongReferencesTakeALengthByte()
    {
        // One literal 'x', then a reference of 7 + 20 + 2 = 29 bytes at offset 0 (the byte before).
        byte[] lzf = [0, (byte)'x', 7 << 5, 20, 0];
        var output = new byte[30];

        Assert.Equal(30, LzfFilter.Decompress(lzf, output));
        Assert.All(output, b => Assert.Equal((byte)'x', b));
    }

    [Theory]
    [InlineData(new byte[] { 5, 1, 2 })] // a literal run past the end of the input
    [InlineData(new byte[] { 0, 1, 1 << 5, 9 })] // a reference before the start of the output
    [InlineData(new byte[] { 0, 1, 7 << 5 })] // a long reference without its length byte
    public void CorruptDataIsRefused(byte[] lzf)
    {
        Assert.Throws<InvalidDataException>(() => LzfFilter.Decompress(lzf, new byte[64]));
    }

    [Fact]
    public void OutputLargerThanTheChunkIsRefused()
    {
        byte[] lzf = [0, 7, 7 << 5, 100, 0];
        Assert.Throws<InvalidDataException>(() => LzfFilter.Decompress(lzf, new byte[16]));
    }
}
