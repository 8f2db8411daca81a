namespace EmMask.Core.Volumes;

/// <summary>
/// A dense, C-ordered 3D volume (z, y, x) that owns its buffer. A 2D image is a volume with Z = 1.
/// </summary>
/// <typeparam name="T">byte, ushort or float.</typeparam>
public sealed class Volume<T> : IVolume
    where T : unmanaged
{
    /// <summary>Allocates a zero-filled volume.</summary>
    public Volume(Shape3 shape, VoxelSize? voxelSize = null)
        : this(shape, new T[CheckedLength(shape)], voxelSize)
    {
    }

    /// <summary>Wraps an existing C-ordered buffer of exactly <c>shape.Length</c> elements (no copy).</summary>
    public Volume(Shape3 shape, T[] data, VoxelSize? voxelSize = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.LongLength != CheckedLength(shape))
        {
            throw new ArgumentException($"Buffer holds {data.LongLength} elements but shape {shape} needs {shape.Length}.", nameof(data));
        }

        VoxelType = VoxelTypes.Of<T>();
        Shape = shape;
        Data = data;
        VoxelSize = (voxelSize ?? VoxelSize.Isotropic).Validate();
    }

    /// <inheritdoc/>
    public Shape3 Shape { get; }

    /// <inheritdoc/>
    public VoxelSize VoxelSize { get; set; }

    /// <inheritdoc/>
    public VoxelType VoxelType { get; }

    /// <summary>The backing array in C order.</summary>
    public T[] Data { get; }

    /// <summary>All voxels as one span.</summary>
    public Span<T> Span => Data;

    /// <summary>Voxel (z, y, x).</summary>
    public ref T this[int z, int y, int x] => ref Data[Shape.Index(z, y, x)];

    /// <summary>One x row.</summary>
    public Span<T> Row(int z, int y) => Data.AsSpan((int)Shape.Index(z, y, 0), Shape.X);

    /// <summary>One z slice (Y·X voxels).</summary>
    public Span<T> Slice(int z) => Data.AsSpan((int)Shape.Index(z, 0, 0), Shape.SliceLength);

    /// <summary>A deep copy.</summary>
    public Volume<T> Clone() => new(Shape, (T[])Data.Clone(), VoxelSize);

    /// <summary>A zero-filled volume of another type with the same shape and voxel size.</summary>
    public Volume<TOther> Like<TOther>()
        where TOther : unmanaged => new(Shape, VoxelSize);

    private static long CheckedLength(Shape3 shape)
    {
        if (shape.Z < 0 || shape.Y < 0 || shape.X < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(shape), shape, "Axis lengths must not be negative.");
        }

        if (shape.Length > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(shape), shape, $"Volume of {shape.Length} voxels is too large for one buffer; process it block-wise.");
        }

        return shape.Length;
    }
}
