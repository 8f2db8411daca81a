using System.Buffers;
using EmMask.Core.Volumes;

namespace EmMask.Core.Filters;

/// <summary>A temporary float volume on a pooled array, so repeated filter calls do not churn the large-object heap.</summary>
internal sealed class PooledVolume : IDisposable
{
    private float[]? array;

    private PooledVolume(Shape3 shape, VoxelSize voxelSize)
    {
        int length = checked((int)shape.Length);
        array = ArrayPool<float>.Shared.Rent(Math.Max(length, 1));
        Volume = new Volume<float>(shape, array.AsMemory(0, length), voxelSize);
    }

    /// <summary>The temporary volume; its contents start undefined.</summary>
    public Volume<float> Volume { get; }

    public static PooledVolume Like(Volume<float> template) => new(template.Shape, template.VoxelSize);

    public void Dispose()
    {
        if (array is not null)
        {
            ArrayPool<float>.Shared.Return(array);
            array = null;
        }
    }
}
