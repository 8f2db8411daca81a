using EmMask.Core.Volumes;

namespace EmMask.IO;

/// <summary>Small helpers shared by the readers and writers.</summary>
internal static class VolumeIO
{
    public static void SetVoxelSize(IVolume volume, VoxelSize size)
    {
        switch (volume)
        {
            case Volume<byte> v: v.VoxelSize = size; break;
            case Volume<ushort> v: v.VoxelSize = size; break;
            case Volume<float> v: v.VoxelSize = size; break;
            case Volume<int> v: v.VoxelSize = size; break;
        }
    }

    /// <summary>The sidecar that carries attributes and voxel size for a <c>.npy</c> file.</summary>
    public static string NpySidecar(string file) => file + ".json";

    /// <summary>A copy of the block at <paramref name="offset"/> of <paramref name="size"/> (already bounds-checked).</summary>
    public static IVolume Crop(IVolume volume, (int Z, int Y, int X) offset, Shape3 size) => volume switch
    {
        Volume<byte> v => Crop(v, offset, size),
        Volume<ushort> v => Crop(v, offset, size),
        Volume<float> v => Crop(v, offset, size),
        Volume<int> v => Crop(v, offset, size),
        _ => throw new NotSupportedException($"Cannot crop {volume.GetType().Name}."),
    };

    private static Volume<T> Crop<T>(Volume<T> source, (int Z, int Y, int X) offset, Shape3 size)
        where T : unmanaged
    {
        var block = new Volume<T>(size, source.VoxelSize);
        for (int z = 0; z < size.Z; z++)
        {
            for (int y = 0; y < size.Y; y++)
            {
                source.Row(offset.Z + z, offset.Y + y).Slice(offset.X, size.X).CopyTo(block.Row(z, y));
            }
        }

        return block;
    }
}
