namespace EmMask.Core.Volumes;

/// <summary>
/// A dense, C-ordered 3D volume (z, y, x). A 2D image is a volume with Z = 1. The buffer is either a managed
/// array or external memory (<see cref="Wrap"/>), so a contiguous numpy array is processed without a copy.
/// </summary>
/// <typeparam name="T">byte, ushort or float (int for label volumes).</typeparam>
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
        : this(shape, (Memory<T>)(data ?? throw new ArgumentNullException(nameof(data))), voxelSize)
    {
    }

    /// <summary>Wraps existing C-ordered memory of exactly <c>shape.Length</c> elements (no copy).</summary>
    public Volume(Shape3 shape, Memory<T> data, VoxelSize? voxelSize = null)
    {
        if (data.Length != CheckedLength(shape))
        {
            throw new ArgumentException($"Buffer holds {data.Length} elements but shape {shape} needs {shape.Length}.", nameof(data));
        }

        VoxelType = VoxelTypes.Of<T>();
        Shape = shape;
        Memory = data;
        VoxelSize = (voxelSize ?? VoxelSize.Isotropic).Validate();
    }

    /// <inheritdoc/>
    public Shape3 Shape { get; }

    /// <inheritdoc/>
    public VoxelSize VoxelSize { get; set; }

    /// <inheritdoc/>
    public VoxelType VoxelType { get; }

    /// <summary>The backing memory in C order. Take <see cref="Span"/> once outside hot loops.</summary>
    public Memory<T> Memory { get; }

    /// <summary>All voxels as one span.</summary>
    public Span<T> Span => Memory.Span;

    /// <summary>Voxel (z, y, x).</summary>
    public ref T this[int z, int y, int x] => ref Memory.Span[(int)Shape.Index(z, y, x)];

    /// <summary>One x row.</summary>
    public Span<T> Row(int z, int y) => Memory.Span.Slice((int)Shape.Index(z, y, 0), Shape.X);

    /// <summary>One z slice (Y·X voxels).</summary>
    public Span<T> Slice(int z) => Memory.Span.Slice((int)Shape.Index(z, 0, 0), Shape.SliceLength);

    /// <summary>
    /// Wraps C-contiguous external memory without copying. The caller keeps the memory alive and unmoved
    /// for the volume's lifetime (a pinned numpy buffer, a memory-mapped file).
    /// </summary>
    public static unsafe Volume<T> Wrap(IntPtr pointer, Shape3 shape, VoxelSize? voxelSize = null)
    {
        long length = CheckedLength(shape);
        if (pointer == IntPtr.Zero && length > 0)
        {
            throw new ArgumentNullException(nameof(pointer));
        }

        return new Volume<T>(shape, new UnmanagedMemory<T>((T*)pointer, (int)length).Memory, voxelSize);
    }

    /// <summary>A deep copy in a managed array.</summary>
    public Volume<T> Clone() => new(Shape, Memory.ToArray(), VoxelSize);

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
