using System.Globalization;
using EmMask.Core.Volumes;

namespace EmMask.IO;

/// <summary>
/// The coarser levels of a mask written beside it (<c>--multiscale N</c>): datasets <c>NAME_s1</c> … <c>NAME_sN</c>,
/// 2×, 4×, … coarser on every axis, each voxel the maximum of the cell it covers, so a downstream tool can skip the
/// all-zero blocks of the full-resolution mask by looking at a coarse level.
/// </summary>
public static class MultiscaleLevels
{
    /// <summary>The most levels (the coarsest is 64× coarser).</summary>
    public const int Maximum = 6;

    /// <summary>The levels, each with its suffix and attributes (the mask's, plus <c>downsample_factor</c> and <c>downsample</c> = max).</summary>
    /// <exception cref="ArgumentOutOfRangeException">More than <see cref="Maximum"/> levels, or a negative count.</exception>
    public static IReadOnlyList<(string Suffix, IRowSource<byte> Rows, IReadOnlyDictionary<string, string> Attributes)> Of(
        int levels, Func<int, IRowSource<byte>> coarser, IReadOnlyDictionary<string, string> attributes)
    {
        ArgumentNullException.ThrowIfNull(coarser);
        if (levels is < 0 or > Maximum)
        {
            throw new ArgumentOutOfRangeException(nameof(levels), levels, $"--multiscale takes 0 to {Maximum} levels.");
        }

        var result = new List<(string, IRowSource<byte>, IReadOnlyDictionary<string, string>)>();
        for (int k = 1; k <= levels; k++)
        {
            int factor = 1 << k;
            var attrs = new Dictionary<string, string>(attributes ?? new Dictionary<string, string>())
            {
                ["downsample_factor"] = factor.ToString(CultureInfo.InvariantCulture),
                ["downsample"] = "max",
            };
            result.Add((Suffix(k), coarser(factor), attrs));
        }

        return result;
    }

    /// <summary>
    /// Checks, before any work, that <paramref name="mask"/> can hold <paramref name="levels"/> coarser levels beside it:
    /// they are datasets of its file, so with any level the mask must be HDF5 (in memory and block-wise alike).
    /// </summary>
    /// <exception cref="ArgumentException">Levels asked for beside a TIFF, npy or image output.</exception>
    public static void CheckOutput(VolumePath mask, int levels)
    {
        ArgumentNullException.ThrowIfNull(mask);
        if (levels != 0 && mask.Kind != VolumeFileKind.Hdf5)
        {
            throw new ArgumentException($"--multiscale writes coarser datasets beside the mask, so the output must be HDF5 (out.h5:/mask), not {mask}.");
        }
    }

    /// <summary>The suffix of level <paramref name="k"/>'s dataset (<c>_s1</c>, 2× coarser; <c>_s2</c>, 4×; ...).</summary>
    public static string Suffix(int k) => "_s" + k.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// How many coarser levels already stand beside an HDF5 mask (<c>NAME_s1</c>, <c>NAME_s2</c>, ... without a gap), so
    /// that a rewrite of the mask can refresh them; 0 for other formats or a file without them.
    /// </summary>
    public static int Existing(VolumePath mask)
    {
        ArgumentNullException.ThrowIfNull(mask);
        if (mask.Kind != VolumeFileKind.Hdf5 || !File.Exists(mask.File))
        {
            return 0;
        }

        var datasets = VolumeReader.ListDatasets(mask.File);
        int levels = 0;
        while (levels < Maximum && (mask with { Dataset = mask.Dataset + Suffix(levels + 1) }).IsListedIn(datasets))
        {
            levels++;
        }

        return levels;
    }
}
