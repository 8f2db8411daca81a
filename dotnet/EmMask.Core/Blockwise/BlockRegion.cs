using EmMask.Core.Volumes;

namespace EmMask.Core.Blockwise;

/// <summary>
/// One block of a <see cref="BlockGrid"/>: the core it owns in the output and the larger region it reads (the core plus
/// the halo, clipped to the volume).
/// </summary>
/// <param name="Index">Position in the grid (z, y, x).</param>
/// <param name="Core">The core's offset.</param>
/// <param name="CoreSize">The core's size.</param>
/// <param name="Read">The read region's offset.</param>
/// <param name="ReadSize">The read region's size.</param>
public sealed record BlockRegion((int Z, int Y, int X) Index, (int Z, int Y, int X) Core, Shape3 CoreSize, (int Z, int Y, int X) Read, Shape3 ReadSize)
{
    /// <summary>A name for files and messages: <c>z{i}_y{j}_x{k}</c>.</summary>
    public string Name => $"z{Index.Z}_y{Index.Y}_x{Index.X}";

    /// <summary>The core's offset inside the read region.</summary>
    public (int Z, int Y, int X) CoreInRead => (Core.Z - Read.Z, Core.Y - Read.Y, Core.X - Read.X);

    /// <summary>Copies the core out of a volume the size of the read region.</summary>
    public Volume<T> CropCore<T>(Volume<T> read)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(read);
        if (read.Shape != ReadSize)
        {
            throw new ArgumentException($"Expected a volume of the read region's shape {ReadSize}, got {read.Shape}.", nameof(read));
        }

        return VolumeRegions.Crop(read, CoreInRead, CoreSize);
    }
}
