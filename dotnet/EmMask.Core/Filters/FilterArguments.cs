using EmMask.Core.Volumes;

namespace EmMask.Core.Filters;

/// <summary>Input checks shared by the public filter entry points; each names the parameter at fault.</summary>
internal static class FilterArguments
{
    public static void CheckPair(Volume<float> source, Volume<float> destination, string sourceName = "source", string destinationName = "destination")
    {
        ArgumentNullException.ThrowIfNull(source, sourceName);
        ArgumentNullException.ThrowIfNull(destination, destinationName);
        if (source.Shape != destination.Shape)
        {
            throw new ArgumentException($"Shape {destination.Shape} differs from the source shape {source.Shape}.", destinationName);
        }

        SameBuffer(source, destination, destinationName);
    }

    /// <summary>
    /// True when both volumes use the same memory (an in-place call); throws when they overlap only partly,
    /// since no line-by-line order could then avoid reading already-written output.
    /// </summary>
    public static bool SameBuffer(Volume<float> a, Volume<float> b, string name = "destination")
    {
        var sa = a.Span;
        var sb = b.Span;
        if (!sa.Overlaps(sb, out int offset))
        {
            return false;
        }

        if (offset != 0 || sa.Length != sb.Length)
        {
            throw new ArgumentException("The volumes overlap partly in memory; pass the same volume for an in-place call or a separate one.", name);
        }

        return true;
    }

    public static void CheckTruncate(double truncate)
    {
        if (!(truncate >= 0) || !double.IsFinite(truncate))
        {
            throw new ArgumentOutOfRangeException(nameof(truncate), truncate, "Truncate must be finite and non-negative.");
        }
    }

    public static void CheckOrder((int Z, int Y, int X) order)
    {
        if (order.Z is < 0 or > 1 || order.Y is < 0 or > 1 || order.X is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(order), order, "Order must be 0 (smooth) or 1 (first derivative) on every axis.");
        }
    }
}
