namespace EmMask.Core.Volumes;

/// <summary>Copying boxes out of and into volumes (blocks, halos, tiles), row by row.</summary>
public static class VolumeRegions
{
    /// <summary>A copy of the box at <paramref name="offset"/> of <paramref name="size"/> (the caller checks the bounds).</summary>
    public static IVolume Crop(IVolume volume, (int Z, int Y, int X) offset, Shape3 size) => volume switch
    {
        Volume<byte> v => Crop(v, offset, size),
        Volume<ushort> v => Crop(v, offset, size),
        Volume<float> v => Crop(v, offset, size),
        Volume<int> v => Crop(v, offset, size),
        _ => throw new NotSupportedException($"Cannot crop {volume?.GetType().Name}."),
    };

    /// <inheritdoc cref="Crop(IVolume, ValueTuple{int, int, int}, Shape3)"/>
    public static Volume<T> Crop<T>(Volume<T> source, (int Z, int Y, int X) offset, Shape3 size)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(source);
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

    /// <summary>Copies <paramref name="part"/> into <paramref name="whole"/> with its first voxel at <paramref name="at"/>.</summary>
    public static void Paste<T>(Volume<T> part, Volume<T> whole, (int Z, int Y, int X) at)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(part);
        ArgumentNullException.ThrowIfNull(whole);
        for (int z = 0; z < part.Shape.Z; z++)
        {
            for (int y = 0; y < part.Shape.Y; y++)
            {
                part.Row(z, y).CopyTo(whole.Row(at.Z + z, at.Y + y)[at.X..]);
            }
        }
    }
}
