using EmMask.Core.Volumes;

namespace EmMask.Core.Inference;

/// <summary>
/// Where the windows of a sliding-window pass go, following MONAI <c>sliding_window_inference</c>
/// (<c>_get_scan_interval</c> + <c>dense_patch_slices</c>): interval = int(roi·(1 − overlap)), at least 1; the
/// last window on an axis is shifted back to end at the volume's edge; an axis shorter than the window is
/// zero-padded, half before and half after. Window starts are in padded coordinates, ordered z-major like
/// MONAI's <c>meshgrid(indexing="ij")</c>.
/// </summary>
public sealed class SlidingWindowPlan
{
    private SlidingWindowPlan(Shape3 volume, Shape3 roi, Shape3 padded, Shape3 padBefore, int[][] starts)
    {
        VolumeShape = volume;
        Roi = roi;
        PaddedShape = padded;
        PadBefore = padBefore;
        ZStarts = starts[0];
        YStarts = starts[1];
        XStarts = starts[2];
    }

    /// <summary>The shape of the volume being tiled (before padding).</summary>
    public Shape3 VolumeShape { get; }

    /// <summary>The effective window shape (after rounding to the pad multiple and clamping).</summary>
    public Shape3 Roi { get; }

    /// <summary>The zero-padded volume shape the windows tile; every axis is at least the window's.</summary>
    public Shape3 PaddedShape { get; }

    /// <summary>Zero voxels added before the volume on each axis (the rest go after).</summary>
    public Shape3 PadBefore { get; }

    /// <summary>Window start positions along z (padded coordinates).</summary>
    public IReadOnlyList<int> ZStarts { get; }

    /// <summary>Window start positions along y (padded coordinates).</summary>
    public IReadOnlyList<int> YStarts { get; }

    /// <summary>Window start positions along x (padded coordinates).</summary>
    public IReadOnlyList<int> XStarts { get; }

    /// <summary>Number of windows.</summary>
    public int Count => ZStarts.Count * YStarts.Count * XStarts.Count;

    /// <summary>The start (z, y, x) of window <paramref name="index"/> in padded coordinates (z-major order).</summary>
    public Shape3 this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            int x = index % XStarts.Count;
            int rest = index / XStarts.Count;
            int y = rest % YStarts.Count;
            int z = rest / YStarts.Count;
            return new Shape3(ZStarts[z], YStarts[y], XStarts[x]);
        }
    }

    /// <summary>Plans windows over a volume.</summary>
    /// <param name="volume">Volume shape; every axis at least 1.</param>
    /// <param name="roi">Requested window shape; every axis at least 1.</param>
    /// <param name="overlap">Overlap fraction in [0, 1).</param>
    /// <param name="padMultiple">Window axes are rounded up to a multiple of this (1 = MONAI).</param>
    /// <param name="clampRoi">
    /// Shrink a window axis longer than the volume to the volume length rounded up to <paramref name="padMultiple"/>
    /// (cheaper for thin stacks); false pads the volume to the full window as MONAI does.
    /// </param>
    public static SlidingWindowPlan Create(Shape3 volume, Shape3 roi, double overlap, int padMultiple = 1, bool clampRoi = true)
    {
        if (volume.Z < 1 || volume.Y < 1 || volume.X < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(volume), volume, "Cannot tile an empty volume.");
        }

        if (roi.Z < 1 || roi.Y < 1 || roi.X < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(roi), roi, "Every window axis must be at least 1.");
        }

        if (!(overlap >= 0 && overlap < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(overlap), overlap, "Overlap must be in [0, 1).");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(padMultiple, 1);

        Span<int> r = stackalloc int[3];
        Span<int> padded = stackalloc int[3];
        Span<int> before = stackalloc int[3];
        var starts = new int[3][];
        for (int axis = 0; axis < 3; axis++)
        {
            int size = volume[axis];

            // A window deeper than the (rounded-up) volume only adds padding work, so clamp it (like MONAI's
            // get_valid_patch_size) but keep it a multiple the network can pool.
            r[axis] = RoundUp(roi[axis], padMultiple);
            if (clampRoi)
            {
                r[axis] = Math.Min(r[axis], RoundUp(size, padMultiple));
            }

            padded[axis] = Math.Max(size, r[axis]);
            before[axis] = (padded[axis] - size) / 2;
            starts[axis] = AxisStarts(padded[axis], r[axis], ScanInterval(padded[axis], r[axis], overlap));
        }

        return new SlidingWindowPlan(
            volume,
            new Shape3(r[0], r[1], r[2]),
            new Shape3(padded[0], padded[1], padded[2]),
            new Shape3(before[0], before[1], before[2]),
            starts);
    }

    /// <summary>MONAI <c>_get_scan_interval</c> for one axis: the roi when it spans the image, else int(roi·(1−overlap)) ≥ 1.</summary>
    public static int ScanInterval(int imageSize, int roiSize, double overlap)
    {
        if (roiSize == imageSize)
        {
            return roiSize;
        }

        int interval = (int)(roiSize * (1 - overlap));
        return interval > 0 ? interval : 1;
    }

    /// <summary>
    /// MONAI <c>dense_patch_slices</c> for one axis: starts i·interval for the smallest count whose last window
    /// reaches the end, each shifted back so no window passes the end.
    /// </summary>
    public static int[] AxisStarts(int imageSize, int roiSize, int interval)
    {
        int patch = Math.Min(roiSize, imageSize);
        int num = (int)Math.Ceiling((double)imageSize / interval);
        int count = 1;
        for (int d = 0; d < num; d++)
        {
            if ((long)d * interval + patch >= imageSize)
            {
                count = d + 1;
                break;
            }
        }

        var result = new int[count];
        for (int i = 0; i < count; i++)
        {
            int start = i * interval;
            result[i] = start - Math.Max(start + patch - imageSize, 0);
        }

        return result;
    }

    private static int RoundUp(int value, int multiple) => (int)(((long)value + multiple - 1) / multiple * multiple);
}
