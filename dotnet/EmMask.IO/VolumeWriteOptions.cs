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

    /// <summary>The defaults: no force, no attributes, compressed.</summary>
    public static VolumeWriteOptions Default { get; } = new();
}
