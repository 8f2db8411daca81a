using System.Globalization;

namespace EmMask.Cli.Services;

/// <summary>Parses <c>--threshold</c>: a positive number or <c>auto</c>.</summary>
public static class ThresholdOption
{
    /// <summary>null for auto.</summary>
    public static double? Parse(string text)
    {
        if (string.Equals(text, "auto", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value > 0 && double.IsFinite(value))
        {
            return value;
        }

        throw new ArgumentException($"--threshold must be 'auto' or a number > 0, got '{text}'.");
    }
}
