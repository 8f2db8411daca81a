namespace EmMask.Core.Volumes;

/// <summary>Setting the voxel size of a volume known only as <see cref="IVolume"/> (a reader's result, a mapped request).</summary>
public static class VolumeSpacing
{
    /// <summary>Gives <paramref name="volume"/> the voxel size <paramref name="size"/> (in place).</summary>
    /// <exception cref="NotSupportedException">A volume that is not an in-memory <see cref="Volume{T}"/> of a voxel type.</exception>
    public static void SetVoxelSize(this IVolume volume, VoxelSize size)
    {
        switch (volume)
        {
            case Volume<byte> v: v.VoxelSize = size; break;
            case Volume<ushort> v: v.VoxelSize = size; break;
            case Volume<float> v: v.VoxelSize = size; break;
            case Volume<int> v: v.VoxelSize = size; break;
            default: throw new NotSupportedException($"Cannot set the voxel size of a {volume.GetType().Name}.");
        }
    }
}
