namespace EmMask.Core.Volumes;

/// <summary>The element types a volume may hold.</summary>
public enum VoxelType
{
    /// <summary>8-bit unsigned integer (raw EM, masks).</summary>
    UInt8,

    /// <summary>16-bit unsigned integer.</summary>
    UInt16,

    /// <summary>32-bit IEEE float.</summary>
    Float32,

    /// <summary>32-bit signed integer: label volumes from connected-component labeling (not read from files by <see cref="VoxelTypes.Parse"/>).</summary>
    Int32,
}

/// <summary>Maps CLR element types onto <see cref="VoxelType"/>.</summary>
public static class VoxelTypes
{
    /// <summary>The voxel type of <typeparamref name="T"/>, or an exception for unsupported types.</summary>
    public static VoxelType Of<T>()
        where T : unmanaged
    {
        if (typeof(T) == typeof(byte))
        {
            return VoxelType.UInt8;
        }

        if (typeof(T) == typeof(ushort))
        {
            return VoxelType.UInt16;
        }

        if (typeof(T) == typeof(float))
        {
            return VoxelType.Float32;
        }

        if (typeof(T) == typeof(int))
        {
            return VoxelType.Int32;
        }

        throw new NotSupportedException($"Element type {typeof(T).Name} is not a supported voxel type (uint8, uint16, float32, int32).");
    }

    /// <summary>Parses a numpy-style dtype name ("uint8", "uint16", "float32", also "u1", "&lt;u2", "&lt;f4").</summary>
    public static VoxelType Parse(string dtype) => dtype.TrimStart('<', '=', '|') switch
    {
        "uint8" or "u1" => VoxelType.UInt8,
        "uint16" or "u2" => VoxelType.UInt16,
        "float32" or "f4" => VoxelType.Float32,
        _ => throw new NotSupportedException($"dtype '{dtype}' is not supported; use uint8, uint16 or float32."),
    };

    /// <summary>Size of one element in bytes.</summary>
    public static int SizeOf(this VoxelType type) => type switch
    {
        VoxelType.UInt8 => 1,
        VoxelType.UInt16 => 2,
        VoxelType.Float32 => 4,
        VoxelType.Int32 => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>numpy dtype name.</summary>
    public static string NumpyName(this VoxelType type) => type switch
    {
        VoxelType.UInt8 => "uint8",
        VoxelType.UInt16 => "uint16",
        VoxelType.Float32 => "float32",
        VoxelType.Int32 => "int32",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };
}
