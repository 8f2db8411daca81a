namespace EmMask.Core.Volumes;

/// <summary>
/// A read/write view over external memory described by a pointer, a shape and byte strides (numpy's layout),
/// so that buffers owned by another runtime can be processed without a copy. The caller keeps the memory alive.
/// </summary>
/// <typeparam name="T">byte, ushort or float.</typeparam>
public readonly unsafe struct StridedView<T>
    where T : unmanaged
{
    private readonly byte* origin;

    /// <summary>Creates a view; strides are in bytes, in (z, y, x) order, and may be negative.</summary>
    public StridedView(IntPtr origin, Shape3 shape, long strideZ, long strideY, long strideX)
    {
        if (origin == IntPtr.Zero && !shape.IsEmpty)
        {
            throw new ArgumentNullException(nameof(origin), "A non-empty view needs a data pointer.");
        }

        if (shape.Z < 0 || shape.Y < 0 || shape.X < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(shape), shape, "Axis lengths must not be negative.");
        }

        this.origin = (byte*)origin;
        Shape = shape;
        StrideZ = strideZ;
        StrideY = strideY;
        StrideX = strideX;
    }

    /// <summary>A view of a C-contiguous buffer.</summary>
    public static StridedView<T> Contiguous(IntPtr origin, Shape3 shape) =>
        new(origin, shape, (long)shape.Y * shape.X * sizeof(T), (long)shape.X * sizeof(T), sizeof(T));

    /// <summary>Axis lengths.</summary>
    public Shape3 Shape { get; }

    /// <summary>Byte stride between slices.</summary>
    public long StrideZ { get; }

    /// <summary>Byte stride between rows.</summary>
    public long StrideY { get; }

    /// <summary>Byte stride between voxels of a row.</summary>
    public long StrideX { get; }

    /// <summary>The address of voxel (0, 0, 0).</summary>
    public IntPtr Origin => (IntPtr)origin;

    /// <summary>True when the memory is C-contiguous, so rows and slices are plain spans.</summary>
    public bool IsContiguous =>
        StrideX == sizeof(T) && StrideY == (long)Shape.X * sizeof(T) && StrideZ == (long)Shape.Y * Shape.X * sizeof(T);

    /// <summary>Voxel (z, y, x).</summary>
    public ref T this[int z, int y, int x] => ref *(T*)(origin + (z * StrideZ) + (y * StrideY) + (x * StrideX));

    /// <summary>One x row as a span; only for rows with unit x stride.</summary>
    public Span<T> Row(int z, int y)
    {
        if (StrideX != sizeof(T))
        {
            throw new InvalidOperationException("Rows of this view are not contiguous.");
        }

        return new Span<T>(origin + (z * StrideZ) + (y * StrideY), Shape.X);
    }

    /// <summary>Copies one x row into <paramref name="destination"/> (any x stride).</summary>
    public void CopyRow(int z, int y, Span<T> destination)
    {
        if (StrideX == sizeof(T))
        {
            Row(z, y).CopyTo(destination);
            return;
        }

        byte* p = origin + (z * StrideZ) + (y * StrideY);
        for (int x = 0; x < Shape.X; x++)
        {
            destination[x] = *(T*)(p + (x * StrideX));
        }
    }

    /// <summary>Copies into a new owned volume.</summary>
    public Volume<T> ToVolume(VoxelSize? voxelSize = null)
    {
        var volume = new Volume<T>(Shape, voxelSize);
        for (int z = 0; z < Shape.Z; z++)
        {
            for (int y = 0; y < Shape.Y; y++)
            {
                CopyRow(z, y, volume.Row(z, y));
            }
        }

        return volume;
    }
}
