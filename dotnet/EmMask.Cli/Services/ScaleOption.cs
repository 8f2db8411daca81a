using System.Globalization;
using EmMask.Core.Inference;

namespace EmMask.Cli.Services;

/// <summary>Parses <c>--scale</c> and the preset key <c>scale</c>: <c>auto</c> or an integer factor ≥ 1.</summary>
public static class ScaleOption
{
    /// <summary><see cref="WorkingScale.Auto"/> for "auto", else the factor.</summary>
    public static int Parse(string text)
    {
        if (string.Equals(text, "auto", StringComparison.OrdinalIgnoreCase))
        {
            return WorkingScale.Auto;
        }

        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value >= 1)
        {
            return value;
        }

        throw new ArgumentException($"--scale must be 'auto' or an integer >= 1, got '{text}'.");
    }
}
