namespace EmMask.Core.Volumes;

/// <summary>A volume handed out row by row in scan order (z, then y), for writers that stream a result too big to hold.</summary>
public interface IRowSource<T>
    where T : unmanaged
{
    /// <summary>Axis lengths.</summary>
    Shape3 Shape { get; }

    /// <summary>Physical spacing.</summary>
    VoxelSize VoxelSize { get; }

    /// <summary>Copies row (z, y) into <paramref name="destination"/> (length Shape.X). Rows are asked for with z never decreasing.</summary>
    void CopyRow(int z, int y, Span<T> destination);
}
