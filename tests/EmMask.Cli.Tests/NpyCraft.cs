using System.Text;

namespace EmMask.Cli.Tests;

/// <summary>Writes .npy files with any header, to make inputs numpy could make (4D, complex, strings, empty axes).</summary>
internal static class NpyCraft
{
    public static void Write(string path, string descr, int[] shape, byte[] data)
    {
        string dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}";
        int pad = (64 - ((10 + dict.Length + 1) % 64)) % 64;
        string header = dict + new string(' ', pad) + "\n";
        using var f = File.Create(path);
        f.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        f.Write(BitConverter.GetBytes((ushort)header.Length));
        f.Write(Encoding.ASCII.GetBytes(header));
        f.Write(data);
    }

    public static void Floats(string path, int[] shape, Func<int, float> value)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        var data = new byte[n * 4];
        for (int i = 0; i < n; i++)
        {
            BitConverter.TryWriteBytes(data.AsSpan(i * 4), value(i));
        }

        Write(path, "<f4", shape, data);
    }
}
