namespace EmMask.Core.Options;

/// <summary>
/// Describes one parameter of an options record where every front end reads it: the CLI builds its option from it, the
/// napari panel its widget, the Python API its documentation (<see cref="OptionsSchema"/>). A parameter is added in one
/// place: the property of the options record, with this attribute.
/// </summary>
/// <param name="help">What the parameter does, in one or two sentences (shown as CLI help and as the widget's tooltip).</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class OptionAttribute(string help) : Attribute
{
    /// <summary>What the parameter does.</summary>
    public string Help { get; } = help;

    /// <summary>Short label for a widget; default: the key with spaces.</summary>
    public string? Label { get; init; }

    /// <summary>Command-line name without the leading dashes; default: the key with dashes. A bool that defaults to
    /// true becomes the flag <c>--no-NAME</c>, one that defaults to false <c>--NAME</c>.</summary>
    public string? Cli { get; init; }

    /// <summary>Smallest value a widget offers (the record's validation is the rule).</summary>
    public double Minimum { get; init; } = double.NaN;

    /// <summary>Largest value a widget offers.</summary>
    public double Maximum { get; init; } = double.NaN;

    /// <summary>Widget step.</summary>
    public double Step { get; init; } = double.NaN;

    /// <summary>The values a widget offers for a text or whole-number parameter (the record's validation is the rule).</summary>
    public string[]? Choices { get; init; }

    /// <summary>Values a widget offers for a text parameter besides free input (e.g. shipped model names beside a file).</summary>
    public string[]? Suggestions { get; init; }
}
