namespace EmMask.IO.Formats;

/// <summary>
/// How an array of more than three axes maps onto (Z, Y, X) when its extra axes have length 1: a leading time or
/// channel axis (1, Z, Y, X), ilastik's trailing channel (Z, Y, X, 1), ImageJ's ZCYX with one channel (Z, 1, Y, X).
/// The spatial axes are the ones longer than 1, in order (at least the last two). Dropping axes of length 1 moves no
/// element in memory, in C or in Fortran order, so such a file is read as its spatial axes, and a mask is written back
/// with the stored shape (<see cref="VolumeWriteOptions.StoredDimensions"/>). Arrays of two or three axes are taken as
/// they are, but for an (H, W, 1) image (both sides at least 16), a grey image with a channel axis; a colour stack
/// (Z, Y, X, 3 or 4) is not squeezed (<see cref="ColorImage"/>).
/// </summary>
internal sealed class StoredAxes
{
    // An (H, W, 1) array is an image where H and W are at least this (as ColorImage.Looks takes (H, W, 3)).
    private const int MinimumImageSide = 16;

    private StoredAxes(long[] stored, int[] spatial)
    {
        Stored = stored;
        Spatial = spatial;
    }

    /// <summary>The dimensions as stored.</summary>
    public long[] Stored { get; }

    /// <summary>The indices into <see cref="Stored"/> of the spatial axes: two (Y, X) or three (Z, Y, X).</summary>
    public int[] Spatial { get; }

    /// <summary>The spatial dimensions: (Y, X) or (Z, Y, X).</summary>
    public long[] SpatialDimensions => [.. Spatial.Select(i => Stored[i])];

    /// <summary>
    /// The axes of <paramref name="dims"/>, or null when it cannot be read as 2D or 3D: no axes or one, a colour stack,
    /// or more than three axes longer than 1.
    /// </summary>
    public static StoredAxes? Of(IReadOnlyList<long> dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        long[] stored = [.. dims];
        if (stored.Length == 3 && stored[2] == 1 && stored[0] >= MinimumImageSide && stored[1] >= MinimumImageSide)
        {
            return new StoredAxes(stored, [0, 1]); // (H, W, 1): a grey image with a channel axis, not H sections one pixel wide
        }

        if (stored.Length is 2 or 3)
        {
            return new StoredAxes(stored, [.. Enumerable.Range(0, stored.Length)]);
        }

        if (stored.Length < 2 || ColorImage.IsStack(stored))
        {
            return null;
        }

        var spatial = Enumerable.Range(0, stored.Length).Where(i => stored[i] != 1).ToList();
        if (spatial.Count > 3)
        {
            return null;
        }

        // Too few long axes (a 1 × 1 × H × W image, or one row): the last axes of length 1 fill up to (Y, X).
        for (int i = stored.Length - 1; spatial.Count < 2; i--)
        {
            if (!spatial.Contains(i))
            {
                spatial.Add(i);
            }
        }

        spatial.Sort();
        return new StoredAxes(stored, [.. spatial]);
    }

    /// <summary>
    /// A region given in spatial coordinates (the last 2 or 3 of (z, y, x)) as per-axis starts and counts of the
    /// stored array: the extra axes are selected at 0 with count 1.
    /// </summary>
    public (ulong[] Starts, ulong[] Counts) Region((int Z, int Y, int X) start, (int Z, int Y, int X) count)
    {
        var starts = new ulong[Stored.Length];
        var counts = Enumerable.Repeat(1UL, Stored.Length).ToArray();
        int[] s = [start.Z, start.Y, start.X];
        int[] c = [count.Z, count.Y, count.X];
        int first = 3 - Spatial.Length;
        for (int k = 0; k < Spatial.Length; k++)
        {
            starts[Spatial[k]] = (ulong)s[first + k];
            counts[Spatial[k]] = (ulong)c[first + k];
        }

        return (starts, counts);
    }

    /// <summary>
    /// The hint for an array of more than three axes that cannot be read (<see cref="Of"/> is null, not a colour stack):
    /// which axes may be added; empty for other shapes.
    /// </summary>
    public static string Hint(IReadOnlyList<long> dims) =>
        dims is { Count: > 3 } && !ColorImage.IsStack(dims)
            ? " Axes beyond (Z, Y, X) must have length 1; take one time point or channel first (numpy: a[0], or a[..., 0])."
            : string.Empty;
}
