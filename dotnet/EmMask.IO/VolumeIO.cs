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
}
