using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace EmMask.IO.Formats;

/// <summary>Big-endian numbers (npy <c>'&gt;u2'</c>, MRC with a big-endian stamp, Zarr <c>'&gt;f8'</c>) to this machine's order.</summary>
internal static class ByteOrder
{
    /// <summary>Reverses the bytes of each element of 2, 4 or 8 bytes, in place; 1-byte elements stay.</summary>
    public static void Swap(Span<byte> bytes, int elementSize)
    {
        switch (elementSize)
        {
            case 2:
                var u16 = MemoryMarshal.Cast<byte, ushort>(bytes);
                BinaryPrimitives.ReverseEndianness(u16, u16);
                break;
            case 4:
                var u32 = MemoryMarshal.Cast<byte, uint>(bytes);
                BinaryPrimitives.ReverseEndianness(u32, u32);
                break;
            case 8:
                var u64 = MemoryMarshal.Cast<byte, ulong>(bytes);
                BinaryPrimitives.ReverseEndianness(u64, u64);
                break;
        }
    }
}
