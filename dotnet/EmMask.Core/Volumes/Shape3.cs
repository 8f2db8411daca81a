namespace EmMask.Core.Volumes;

/// <summary>The extent of a volume in (z, y, x) order, C order: x varies fastest.</summary>
public readonly record struct Shape3(int Z, int Y, int X)
{
    /// <summary>Number of voxels.</summary>
    public long Length => (long)Z * Y * X;

    /// <summary>Voxels in one z slice.</summary>
    public int SliceLength => Y * X;

    /// <summary>True when any axis has length zero.</summary>
    public bool IsEmpty => Z == 0 || Y == 0 || X == 0;

    /// <summary>The linear (C order) index of voxel (z, y, x).</summary>
    public long Index(int z, int y, int x) => ((long)z * Y + y) * X + x;

    /// <summary>The axis lengths in (z, y, x) order.</summary>
    public int this[int axis] => axis switch
    {
        0 => Z,
        1 => Y,
        2 => X,
        _ => throw new ArgumentOutOfRangeException(nameof(axis), axis, "Axis must be 0 (z), 1 (y) or 2 (x)."),
    };

    /// <summary>Builds a shape from 2 (y, x) or 3 (z, y, x) axis lengths; a 2D image becomes one slice.</summary>
    public static Shape3 FromDimensions(ReadOnlySpan<long> dims)
    {
        if (dims.Length is < 2 or > 3)
        {
            throw new ArgumentException($"Expected a 2D (y, x) or 3D (z, y, x) array, got {dims.Length}D.", nameof(dims));
        }

        Span<int> d = stackalloc int[3];
        int offset = 3 - dims.Length;
        d[0] = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] < 0 || dims[i] > int.MaxValue)
            {
                throw new ArgumentOutOfRangeException(nameof(dims), dims[i], $"Axis {i} has an invalid length.");
            }

            d[offset + i] = (int)dims[i];
        }

        return new Shape3(d[0], d[1], d[2]);
    }

    /// <inheritdoc/>
    public override string ToString() => $"({Z}, {Y}, {X})";
}
