using EmMask.Core.Volumes;

namespace EmMask.Core.Labeling;

/// <summary>Connected-component labeling of binary masks (scipy.ndimage.label semantics).</summary>
public static class ConnectedComponents
{
    /// <summary>
    /// Labels the foreground (nonzero) voxels of <paramref name="mask"/> 1..N in scan (C) order of each component's
    /// first voxel, exactly as <c>scipy.ndimage.label</c> numbers them; background is 0.
    /// </summary>
    /// <param name="mask">Any byte volume; every nonzero voxel is foreground. Empty masks give Count = 0.</param>
    /// <param name="connectivity">6, 18 or 26 neighbours (Face matches scipy's default structure).</param>
    /// <param name="ct">Cancels the work.</param>
    /// <returns>Labels, the component count and the voxel count of each label.</returns>
    public static LabelResult Label(Volume<byte> mask, Connectivity connectivity = Connectivity.Face, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(mask);
        connectivity.Validate();
        var runs = RunLabeling.Compute(mask.Memory, mask.Shape, connectivity, foregroundIsZero: false, ct);
        var labels = mask.Like<int>();
        runs.WriteLabels(labels.Memory, ct);
        return new LabelResult(labels, runs.Count, runs.Sizes(backgroundVoxels: mask.Shape.Length));
    }
}
