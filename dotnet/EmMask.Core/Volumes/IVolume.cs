namespace EmMask.Core.Volumes;

/// <summary>A 3D (z, y, x) volume of any supported voxel type; use pattern matching on <see cref="Volume{T}"/> to get at the data.</summary>
public interface IVolume
{
    /// <summary>Axis lengths.</summary>
    Shape3 Shape { get; }

    /// <summary>Physical spacing.</summary>
    VoxelSize VoxelSize { get; }

    /// <summary>Element type.</summary>
    VoxelType VoxelType { get; }
}
