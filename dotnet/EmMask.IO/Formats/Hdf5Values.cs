using PureHDF;

namespace EmMask.IO.Formats;

/// <summary>Reads HDF5 attribute values in the few shapes EM files use: numbers and text.</summary>
internal static class Hdf5Values
{
    /// <summary>A scalar (or one-element) text attribute, else null.</summary>
    public static string? ReadString(IH5Attribute attribute)
    {
        if (attribute.Type.Class is not (H5DataTypeClass.String or H5DataTypeClass.VariableLength) || ElementCount(attribute) != 1)
        {
            return null;
        }

        try
        {
            return attribute.Space.Type == H5DataspaceType.Scalar ? attribute.Read<string>() : attribute.Read<string[]>()[0];
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A variable-length sequence of numbers is not text; it is simply not reported as an attribute.
            return null;
        }
    }

    /// <summary>A numeric attribute as doubles (any integer or float width), else null.</summary>
    public static double[]? ReadNumbers(IH5Attribute attribute)
    {
        var type = attribute.Type;
        return type.Class switch
        {
            H5DataTypeClass.FloatingPoint when type.Size == 4 => attribute.Read<float[]>().Select(v => (double)v).ToArray(),
            H5DataTypeClass.FloatingPoint when type.Size == 8 => attribute.Read<double[]>(),
            H5DataTypeClass.FixedPoint => ReadIntegers(attribute),
            _ => null,
        };
    }

    /// <summary>
    /// The attribute in a form PureHDF writes back unchanged (same dtype and shape), for copying a file's
    /// existing content; throws for kinds that cannot be copied faithfully.
    /// </summary>
    public static object CopyValue(IH5Attribute attribute, string where)
    {
        var type = attribute.Type;
        bool scalar = attribute.Space.Type == H5DataspaceType.Scalar;
        ulong[] dims = scalar ? [] : attribute.Space.Dimensions;
        object? value = type.Class switch
        {
            H5DataTypeClass.FixedPoint => Typed(ElementKinds.FromInteger(type.Size, type.FixedPoint.IsSigned, where), attribute, scalar, dims),
            H5DataTypeClass.FloatingPoint when type.Size == 4 => Shape(attribute.Read<float[]>(), scalar, dims),
            H5DataTypeClass.FloatingPoint when type.Size == 8 => Shape(attribute.Read<double[]>(), scalar, dims),
            H5DataTypeClass.String or H5DataTypeClass.VariableLength => ReadText(attribute, scalar, dims),
            _ => null,
        };
        return value ?? throw new VolumeFormatException(
            $"{where}: attribute '{attribute.Name}' has dtype {ElementKinds.DescribeHdf5(type)}, which cannot be copied; write to a new file instead.");
    }

    private static object? ReadText(IH5Attribute attribute, bool scalar, ulong[] dims)
    {
        try
        {
            return scalar ? attribute.Read<string>() : Shape(attribute.Read<string[]>(), false, dims);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return null;
        }
    }

    private static object Typed(ElementKind kind, IH5Attribute a, bool scalar, ulong[] dims) => kind switch
    {
        ElementKind.UInt8 => Shape(a.Read<byte[]>(), scalar, dims),
        ElementKind.UInt16 => Shape(a.Read<ushort[]>(), scalar, dims),
        ElementKind.UInt32 => Shape(a.Read<uint[]>(), scalar, dims),
        ElementKind.UInt64 => Shape(a.Read<ulong[]>(), scalar, dims),
        ElementKind.Int8 => Shape(a.Read<sbyte[]>(), scalar, dims),
        ElementKind.Int16 => Shape(a.Read<short[]>(), scalar, dims),
        ElementKind.Int32 => Shape(a.Read<int[]>(), scalar, dims),
        _ => Shape(a.Read<long[]>(), scalar, dims),
    };

    private static object Shape<T>(T[] values, bool scalar, ulong[] dims)
    {
        if (scalar && values.Length == 1)
        {
            return values[0]!;
        }

        return dims.Length <= 1 ? values : new H5Attribute(values, dims);
    }

    private static double[] ReadIntegers(IH5Attribute attribute) =>
        ElementKinds.FromInteger(attribute.Type.Size, attribute.Type.FixedPoint.IsSigned, attribute.Name) switch
        {
            ElementKind.UInt8 => attribute.Read<byte[]>().Select(v => (double)v).ToArray(),
            ElementKind.UInt16 => attribute.Read<ushort[]>().Select(v => (double)v).ToArray(),
            ElementKind.UInt32 => attribute.Read<uint[]>().Select(v => (double)v).ToArray(),
            ElementKind.UInt64 => attribute.Read<ulong[]>().Select(v => (double)v).ToArray(),
            ElementKind.Int8 => attribute.Read<sbyte[]>().Select(v => (double)v).ToArray(),
            ElementKind.Int16 => attribute.Read<short[]>().Select(v => (double)v).ToArray(),
            ElementKind.Int32 => attribute.Read<int[]>().Select(v => (double)v).ToArray(),
            _ => attribute.Read<long[]>().Select(v => (double)v).ToArray(),
        };

    private static ulong ElementCount(IH5Attribute attribute) =>
        attribute.Space.Type == H5DataspaceType.Scalar ? 1 : attribute.Space.Dimensions.Aggregate(1UL, (a, b) => a * b);
}
