using EmMask.Core.Volumes;

namespace EmMask.IO;

/// <summary>Small helpers shared by the readers and writers.</summary>
internal static class VolumeIO
{
    /// <summary>The sidecar that carries attributes and voxel size for a <c>.npy</c> file.</summary>
    public static string NpySidecar(string file) => file + ".json";
}
