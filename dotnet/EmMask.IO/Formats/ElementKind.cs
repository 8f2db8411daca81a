using System.Runtime.InteropServices;
using PureHDF;

namespace EmMask.IO.Formats;

/// <summary>The numeric element types found in volume files; those other than uint8/uint16/float32 are converted.</summary>
internal enum ElementKind
{
    UInt8,
    UInt16,
    Float32,
    Int8,
    Int16,
    Int32,
    UInt32,
    Int64,
    UInt64,
    Float64,
}

/// <summary>Names, CLR types and the float32 conversion policy of <see cref="ElementKind"/>.</summary>
internal static class ElementKinds
{
    /// <summary>The largest integer magnitude float32 holds exactly (2^24).</summary>
    private const double ExactFloatLimit = 16_777_216;

    public static string NumpyName(this ElementKind kind) => kind switch
    {
        ElementKind.UInt8 => "uint8",
        ElementKind.UInt16 => "uint16",
        ElementKind.Float32 => "float32",
        ElementKind.Int8 => "int8",
        ElementKind.Int16 => "int16",
        ElementKind.Int32 => "int32",
        ElementKind.UInt32 => "uint32",
        ElementKind.Int64 => "int64",
        ElementKind.UInt64 => "uint64",
        _ => "float64",
    };

    /// <summary>True when the kind is stored as-is; every other kind is converted to float32.</summary>
    public static bool IsNative(this ElementKind kind) => kind is ElementKind.UInt8 or ElementKind.UInt16 or ElementKind.Float32;

    /// <summary>
    /// Maps an HDF5 type onto a kind, or throws naming the dtype. h5py's bool (an enum over int8) reads as uint8.
    /// </summary>
    public static ElementKind FromHdf5(IH5DataType type, string where)
    {
        switch (type.Class)
        {
            case H5DataTypeClass.FixedPoint:
                return FromInteger(type.Size, type.FixedPoint.IsSigned, where);
            case H5DataTypeClass.FloatingPoint when type.Size == 4:
                return ElementKind.Float32;
            case H5DataTypeClass.FloatingPoint when type.Size == 8:
                return ElementKind.Float64;
            case H5DataTypeClass.Enumerated when type.Size == 1 && type.Enumeration.BaseType.Class == H5DataTypeClass.FixedPoint:
                return ElementKind.UInt8;
            default:
                throw new VolumeFormatException($"{where}: dtype {DescribeHdf5(type)} is not supported; use uint8, uint16 or float32.");
        }
    }

    /// <summary>
    /// Maps a numpy type string (an npy header's or a zarr array's <c>dtype</c>: <c>'|u1'</c>, <c>'&lt;u2'</c>,
    /// <c>'&gt;f4'</c>) onto a kind, and whether its numbers are big-endian (as MATLAB and some Java tools write them;
    /// they are read byte-swapped); throws naming the dtype. bool reads as uint8.
    /// </summary>
    public static (ElementKind Kind, bool BigEndian) FromNumpy(string descr, string where)
    {
        ArgumentNullException.ThrowIfNull(descr);
        string d = descr;
        bool bigEndian = d.Length == 3 && d[0] == '>' && d[1] is 'u' or 'i' or 'f' && d[2] is not '1';
        string little = bigEndian ? "<" + d[1..] : d;
        ElementKind kind = little switch
        {
            "|u1" or "<u1" or "u1" or "|b1" or "b1" => ElementKind.UInt8,
            "<u2" => ElementKind.UInt16,
            "<f4" => ElementKind.Float32,
            "|i1" or "<i1" or "i1" => ElementKind.Int8,
            "<i2" => ElementKind.Int16,
            "<i4" => ElementKind.Int32,
            "<u4" => ElementKind.UInt32,
            "<i8" => ElementKind.Int64,
            "<u8" => ElementKind.UInt64,
            "<f8" => ElementKind.Float64,
            _ when d.Length > 1 && d[1] == 'c' => throw new VolumeFormatException($"{where}: dtype '{d}' is complex, which is not supported; use uint8, uint16 or float32."),
            _ when d.Length > 1 && d[1] is 'U' or 'S' or 'O' or 'V' => throw new VolumeFormatException($"{where}: dtype '{d}' holds strings, objects or records, not numbers; use uint8, uint16 or float32."),
            _ => throw new VolumeFormatException($"{where}: dtype '{d}' is not supported; convert to uint8, uint16 or float32."),
        };
        return (kind, bigEndian);
    }

    /// <summary>The bytes of one element.</summary>
    public static int Size(this ElementKind kind) => kind switch
    {
        ElementKind.UInt8 or ElementKind.Int8 => 1,
        ElementKind.UInt16 or ElementKind.Int16 => 2,
        ElementKind.Float32 or ElementKind.Int32 or ElementKind.UInt32 => 4,
        _ => 8,
    };

    public static ElementKind FromInteger(int size, bool signed, string where) => (size, signed) switch
    {
        (1, false) => ElementKind.UInt8,
        (2, false) => ElementKind.UInt16,
        (4, false) => ElementKind.UInt32,
        (8, false) => ElementKind.UInt64,
        (1, true) => ElementKind.Int8,
        (2, true) => ElementKind.Int16,
        (4, true) => ElementKind.Int32,
        (8, true) => ElementKind.Int64,
        _ => throw new VolumeFormatException($"{where}: {size * 8}-bit integers are not supported; use uint8, uint16 or float32."),
    };

    public static string DescribeHdf5(IH5DataType type) => type.Class switch
    {
        H5DataTypeClass.FixedPoint => FromInteger(type.Size, type.FixedPoint.IsSigned, "?").NumpyName(),
        H5DataTypeClass.FloatingPoint => $"float{type.Size * 8}",
        H5DataTypeClass.String => "string",
        H5DataTypeClass.VariableLength => "variable-length (string or sequence)",
        H5DataTypeClass.Compound => "compound (complex or record)",
        H5DataTypeClass.Enumerated => "enum",
        H5DataTypeClass.Array => "array",
        H5DataTypeClass.Opaque => "opaque",
        H5DataTypeClass.Reference => "reference",
        H5DataTypeClass.BitField => "bitfield",
        _ => type.Class.ToString().ToLowerInvariant(),
    };

    /// <summary>As <see cref="ToFloat{T}"/>, from the raw (this machine's byte order) bytes of elements of <paramref name="kind"/>.</summary>
    public static void ToFloat(ReadOnlySpan<byte> raw, Span<float> destination, ElementKind kind, string where)
    {
        switch (kind)
        {
            case ElementKind.UInt8: ToFloat<byte>(raw, destination, kind, where); break;
            case ElementKind.UInt16: ToFloat<ushort>(MemoryMarshal.Cast<byte, ushort>(raw), destination, kind, where); break;
            case ElementKind.Float32: MemoryMarshal.Cast<byte, float>(raw).CopyTo(destination); break;
            case ElementKind.Int8: ToFloat<sbyte>(MemoryMarshal.Cast<byte, sbyte>(raw), destination, kind, where); break;
            case ElementKind.Int16: ToFloat<short>(MemoryMarshal.Cast<byte, short>(raw), destination, kind, where); break;
            case ElementKind.Int32: ToFloat<int>(MemoryMarshal.Cast<byte, int>(raw), destination, kind, where); break;
            case ElementKind.UInt32: ToFloat<uint>(MemoryMarshal.Cast<byte, uint>(raw), destination, kind, where); break;
            case ElementKind.Int64: ToFloat<long>(MemoryMarshal.Cast<byte, long>(raw), destination, kind, where); break;
            case ElementKind.UInt64: ToFloat<ulong>(MemoryMarshal.Cast<byte, ulong>(raw), destination, kind, where); break;
            default: ToFloat<double>(MemoryMarshal.Cast<byte, double>(raw), destination, kind, where); break;
        }
    }

    /// <summary>
    /// Converts to float32. Integers of 8 and 16 bits convert exactly; 32/64-bit integers only when every value is
    /// within ±2^24 (float32 would round larger ones, e.g. label ids), else the read is refused. float64 is rounded to
    /// the nearest float32, which keeps about 7 significant digits: fine for intensities and probabilities.
    /// </summary>
    public static void ToFloat<T>(ReadOnlySpan<T> source, Span<float> destination, ElementKind kind, string where)
        where T : unmanaged, System.Numerics.INumberBase<T>
    {
        bool checkRange = kind is ElementKind.Int32 or ElementKind.UInt32 or ElementKind.Int64 or ElementKind.UInt64;
        if (!checkRange)
        {
            // 8- and 16-bit integers are exact in float32, float64 rounds to nearest: one vectorised conversion.
            System.Numerics.Tensors.TensorPrimitives.ConvertTruncating<T, float>(source, destination);
            return;
        }

        for (int i = 0; i < source.Length; i++)
        {
            double v = double.CreateTruncating(source[i]);
            if (checkRange && Math.Abs(v) > ExactFloatLimit)
            {
                throw new VolumeFormatException(
                    $"{where}: dtype {kind.NumpyName()} holds the value {v:R}, beyond ±2^24 where float32 is exact; rescale or convert it to float32 yourself.");
            }

            destination[i] = (float)v;
        }
    }
}
