namespace EmMask.Core.Volumes;

/// <summary>
/// A coarser level of a 0/1 mask, row by row: each voxel is the maximum of the factor³ voxels it covers (partial cells at
/// the far edges take what they hold), so a coarse voxel is 0 only where the whole cell is non-brain and downstream
/// tools can skip all-zero blocks at the coarse level.
/// </summary>
public sealed class MaxPooledRows : IRowSource<byte>
{
    private readonly IRowSource<byte> source;
    private readonly int factor;
    private readonly byte[] row;

    /// <summary>Pools <paramref name="source"/> by <paramref name="factor"/> on every axis (z too unless the source is one section).</summary>
    public MaxPooledRows(IRowSource<byte> source, int factor)
    {
        this.source = source ?? throw new ArgumentNullException(nameof(source));
        ArgumentOutOfRangeException.ThrowIfLessThan(factor, 2);
        this.factor = factor;
        var s = source.Shape;
        Shape = new Shape3(Cells(s.Z, factor), Cells(s.Y, factor), Cells(s.X, factor));
        VoxelSize = new VoxelSize(source.VoxelSize.Z * factor, source.VoxelSize.Y * factor, source.VoxelSize.X * factor);
        row = new byte[s.X];
    }

    /// <inheritdoc/>
    public Shape3 Shape { get; }

    /// <inheritdoc/>
    public VoxelSize VoxelSize { get; }

    /// <summary>The shape of a level <paramref name="factor"/> times coarser.</summary>
    public static Shape3 ShapeAt(Shape3 shape, int factor) => new(Cells(shape.Z, factor), Cells(shape.Y, factor), Cells(shape.X, factor));

    /// <inheritdoc/>
    public void CopyRow(int z, int y, Span<byte> destination)
    {
        var s = source.Shape;
        destination[..Shape.X].Clear();
        for (int fz = z * factor; fz < Math.Min(s.Z, (z + 1) * factor); fz++)
        {
            for (int fy = y * factor; fy < Math.Min(s.Y, (y + 1) * factor); fy++)
            {
                source.CopyRow(fz, fy, row);
                for (int x = 0; x < Shape.X; x++)
                {
                    int end = Math.Min(s.X, (x + 1) * factor);
                    for (int fx = x * factor; fx < end; fx++)
                    {
                        if (row[fx] != 0)
                        {
                            destination[x] = 1;
                            break;
                        }
                    }
                }
            }
        }
    }

    private static int Cells(int length, int factor) => (length + factor - 1) / factor;
}

/// <summary>An in-memory volume as a row source.</summary>
public sealed class VolumeRows(Volume<byte> volume) : IRowSource<byte>
{
    /// <inheritdoc/>
    public Shape3 Shape => volume.Shape;

    /// <inheritdoc/>
    public VoxelSize VoxelSize => volume.VoxelSize;

    /// <inheritdoc/>
    public void CopyRow(int z, int y, Span<byte> destination) => volume.Row(z, y).CopyTo(destination);
}
