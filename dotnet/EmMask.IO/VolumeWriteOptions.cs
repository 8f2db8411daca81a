using EmMask.Core.Volumes;
using EmMask.IO.Formats;

namespace EmMask.IO;

/// <summary>How <see cref="VolumeWriter"/> writes a volume.</summary>
public sealed record VolumeWriteOptions
{
    private static readonly IReadOnlyDictionary<string, string> NoAttributes = new Dictionary<string, string>();

    /// <summary>
    /// Allow replacing an existing output: the TIFF/npy file, or the HDF5 dataset. Without it an existing output is an
    /// error. Adding a new dataset to an existing HDF5 file never needs it; the file's other datasets are kept.
    /// </summary>
    public bool Force { get; init; }

    /// <summary>
    /// Text attributes stored beside the data: HDF5 attributes on the dataset, a JSON object in the TIFF
    /// ImageDescription of the first page, or a sidecar <c>&lt;file&gt;.json</c> next to a <c>.npy</c>.
    /// </summary>
    public IReadOnlyDictionary<string, string> Attributes { get; init; } = NoAttributes;

    /// <summary>HDF5 only: store chunked (up to 64³) and deflate-compressed. Default true.</summary>
    public bool Compress { get; init; } = true;

    /// <summary>
    /// The number of axes to store a volume of one z slice with: 2 (default) writes an (H, W) image, 3 a (1, H, W)
    /// stack. Volumes with more slices are always stored with 3. The CLI passes the input's own rank
    /// (<see cref="VolumeReader.ReadRank"/>), so that a mask has its input's shape.
    /// </summary>
    public int SingleSliceRank { get; init; } = 2;

    /// <summary>
    /// The input's shape as its file stores it (<see cref="VolumeReader.ReadStoredDimensions"/>), or null. Where it has
    /// axes of length 1 that are not read (<c>(1, Z, Y, X)</c>, ilastik's <c>(Z, Y, X, 1)</c>, an (H, W, 1) image), and a
    /// volume of its spatial shape is written, npy, HDF5 and Zarr store that volume with the same axes, so that a mask has
    /// its input's shape. Other shapes (a coarser level, a colour input) are stored by <see cref="SingleSliceRank"/>.
    /// </summary>
    public IReadOnlyList<long>? StoredDimensions { get; init; }

    /// <summary>
    /// The shape a volume of <paramref name="shape"/> is stored with in npy, HDF5 and Zarr: <see cref="StoredDimensions"/>
    /// where its spatial axes are <paramref name="shape"/>; else (H, W) for one section unless
    /// <see cref="SingleSliceRank"/> is 3; else (Z, Y, X).
    /// </summary>
    public long[] DimensionsFor(Shape3 shape)
    {
        if (StoredDimensions is { } stored && StoredAxes.Of(stored) is { } axes && axes.Spatial.Length < stored.Count)
        {
            long[] spatial = axes.SpatialDimensions;
            bool holds = spatial.Length == 2
                ? shape.Z == 1 && spatial.SequenceEqual([shape.Y, shape.X])
                : spatial.SequenceEqual([shape.Z, shape.Y, shape.X]);
            if (holds)
            {
                return [.. stored];
            }
        }

        return shape.Z == 1 && SingleSliceRank != 3 ? [shape.Y, shape.X] : [shape.Z, shape.Y, shape.X];
    }

    /// <summary>The defaults: no force, no attributes, compressed.</summary>
    public static VolumeWriteOptions Default { get; } = new();
}
