using System.Text;
using System.Text.RegularExpressions;

namespace EmMask.Learning.Tests;

/// <summary>Reads little-endian float32 C-order .npy files of any rank (fixtures are N-D, beyond IVolume).</summary>
internal static partial class TestNpy
{
    public static (float[] Data, long[] Shape) Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        int major = bytes[6];
        int hlen = major == 1 ? BitConverter.ToUInt16(bytes, 8) : BitConverter.ToInt32(bytes, 8);
        int start = major == 1 ? 10 : 12;
        var header = Encoding.ASCII.GetString(bytes, start, hlen);
        Assert.Contains("'descr': '<f4'", header);
        Assert.Contains("'fortran_order': False", header);
        var shape = ShapeRegex().Match(header).Groups[1].Value
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
        var data = new float[shape.Aggregate(1L, (a, b) => a * b)];
        Buffer.BlockCopy(bytes, start + hlen, data, 0, data.Length * 4);
        return (data, shape);
    }

    public static string Fixture(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "Fixtures", .. parts]);

    [GeneratedRegex(@"'shape': \(([^)]*)\)")]
    private static partial Regex ShapeRegex();
}
