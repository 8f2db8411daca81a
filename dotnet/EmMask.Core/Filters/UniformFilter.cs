using EmMask.Core.Volumes;

namespace EmMask.Core.Filters;

/// <summary>
/// Box mean with the semantics of <c>scipy.ndimage.uniform_filter(size, mode='reflect')</c>: per axis the mean of
/// <c>size</c> voxels over [i − size/2, i + size − size/2 − 1] (even sizes lean towards lower indices), reflect
/// boundary, size 1 leaves the axis alone. Running sums in double make the cost independent of the size.
/// </summary>
public static class UniformFilter
{
    /// <summary>Writes the box mean of <paramref name="source"/> into <paramref name="destination"/>.</summary>
    /// <param name="source">Input volume.</param>
    /// <param name="destination">Output of the same shape; may be <paramref name="source"/> itself.</param>
    /// <param name="size">Window length per axis in voxels, each ≥ 1.</param>
    /// <param name="ct">Stops the work between lines; throws <see cref="OperationCanceledException"/>.</param>
    public static void Apply(Volume<float> source, Volume<float> destination, (int Z, int Y, int X) size, CancellationToken ct = default)
    {
        FilterArguments.CheckPair(source, destination);
        if (size.Z < 1 || size.Y < 1 || size.X < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "Size must be at least 1 on every axis.");
        }

        SeparableFilter.Run(source, destination, KernelFor(size.Z), KernelFor(size.Y), KernelFor(size.X), ct);
    }

    private static BoxKernel? KernelFor(int size) => size > 1 ? new BoxKernel(size) : null;
}
