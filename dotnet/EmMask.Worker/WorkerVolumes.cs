using EmMask.Core.Volumes;

namespace EmMask.Worker;

/// <summary>Helpers for the volumes a request maps.</summary>
internal static class WorkerVolumes
{
    /// <summary>Gives a mapped volume the voxel size the request carried.</summary>
    public static void SetVoxelSize(IVolume volume, VoxelSize size)
    {
        switch (volume)
        {
            case Volume<byte> b: b.VoxelSize = size; break;
            case Volume<ushort> u: u.VoxelSize = size; break;
            case Volume<float> f: f.VoxelSize = size; break;
        }
    }
}
