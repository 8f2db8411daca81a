using System.Globalization;

namespace EmMask.Cli.Services;

/// <summary>Memory sizes on the command line: <c>2G</c>, <c>512M</c>, <c>1.5GiB</c>, <c>800MB</c> (binary units) or plain bytes.</summary>
public static class ByteSize
{
    /// <summary>Parses a size.</summary>
    /// <exception cref="ArgumentException">Not a positive size (the message shows the accepted forms).</exception>
    public static long Parse(string text, string option = "--max-memory")
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim().ToUpperInvariant();
        long unit = 1;
        foreach (var (suffix, factor) in new[] { ("GIB", 1L << 30), ("GB", 1L << 30), ("G", 1L << 30), ("MIB", 1L << 20), ("MB", 1L << 20), ("M", 1L << 20), ("KIB", 1L << 10), ("KB", 1L << 10), ("K", 1L << 10) })
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal))
            {
                unit = factor;
                t = t[..^suffix.Length];
                break;
            }
        }

        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !(value > 0) || double.IsInfinity(value))
        {
            throw new ArgumentException($"{option} '{text}' is not a size; use e.g. 2G, 512M or 1.5GiB.");
        }

        return (long)Math.Min(long.MaxValue / 2, value * unit);
    }

    /// <summary>The default memory budget: three quarters of the memory available to the process.</summary>
    public static long DefaultBudget() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4 * 3;
}
