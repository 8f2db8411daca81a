using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using EmMask.Core.Options;

namespace EmMask.Cli.Commands;

/// <summary>
/// Command-line options made from an options record's schema (<see cref="OptionsSchema"/>): one <c>--name VALUE</c> per
/// parameter (<c>--no-name</c> / <c>--name</c> flags for booleans), described by the record's own help text. A parameter
/// added to the record appears here without touching the CLI.
/// </summary>
internal sealed class SchemaOptions
{
    private readonly List<(OptionsSchema.Entry Entry, Option Option)> options = [];

    public SchemaOptions(IEnumerable<OptionsSchema.Entry> entries)
    {
        foreach (var e in entries)
        {
            Option option = e.Kind == "bool"
                ? new Option<bool>(e.Default?.GetValue<bool>() == true ? $"--no-{e.Cli}" : $"--{e.Cli}") { Description = e.Default?.GetValue<bool>() == true ? $"Turn off (on by default): {e.Help}" : e.Help }
                : new Option<string?>($"--{e.Cli}") { Description = $"{e.Help} (default {(e.Default is null && e.Suggestions.Count > 0 ? e.Suggestions[0] : Text(e.Default))}{Choices(e)})" };
            options.Add((e, option));
        }
    }

    /// <summary>The options, to add to a command.</summary>
    public IEnumerable<Option> All => options.Select(o => o.Option);

    /// <summary>
    /// Writes the values given on the command line over <paramref name="values"/> (the JSON form of a record: defaults,
    /// or a preset); options left out keep their value there.
    /// </summary>
    public JsonObject Apply(ParseResult parse, JsonObject values)
    {
        foreach (var (e, option) in options)
        {
            if (parse.GetResult(option) is not { Implicit: false })
            {
                continue;
            }

            if (option is Option<bool> flag)
            {
                if (parse.GetValue(flag))
                {
                    values[e.Key] = !(e.Default?.GetValue<bool>() ?? false);
                }
            }
            else if (parse.GetValue((Option<string?>)option) is { } text)
            {
                values[e.Key] = text; // the record's JSON reader parses numbers, "auto" and choices from text
            }
        }

        return values;
    }

    private static string Text(JsonNode? value) => value switch
    {
        null => "auto",
        JsonValue v when v.TryGetValue(out string? s) => s,
        JsonValue v when v.TryGetValue(out double d) => d.ToString("g", CultureInfo.InvariantCulture),
        _ => value.ToJsonString(),
    };

    private static string Choices(OptionsSchema.Entry e) => e.Choices.Count > 0 ? $"; one of {string.Join(", ", e.Choices)}" : e.Auto ? "; a value or auto" : string.Empty;
}
