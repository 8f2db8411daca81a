using EmMask.Core.Volumes;

namespace EmMask.IO.Formats;

/// <summary>A held volume handed out row by row, so that a writer of row sources also writes volumes.</summary>
internal sealed class VolumeRowSource<T>(Volume<T> volume) : IRowSource<T>
    where T : unmanaged
{
    public Shape3 Shape => volume.Shape;

    public VoxelSize VoxelSize => volume.VoxelSize;

    public void CopyRow(int z, int y, Span<T> destination) => volume.Row(z, y).CopyTo(destination);
}
