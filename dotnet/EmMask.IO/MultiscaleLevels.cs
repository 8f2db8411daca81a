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
            result.Add(($"_s{k}", coarser(factor), attrs));
        }

        return result;
    }
}
