using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EmMask.Core.Options;

/// <summary>
/// The parameters of an options record as a table: key, kind, default, range or choices, label and help, from the
/// record's own properties, defaults and <see cref="OptionAttribute"/>s. The CLI, the Python API and the napari panels
/// are built from it, so they cannot drift from the record.
/// </summary>
public static class OptionsSchema
{
    /// <summary>One parameter.</summary>
    /// <param name="Key">snake_case key (the JSON form's).</param>
    /// <param name="Kind">"int", "float", "bool", "string" or "choice" (a fixed set of texts; numbers as text).</param>
    /// <param name="Auto">Whether "auto" (no value) is allowed.</param>
    /// <param name="Default">The default in the JSON form (a number, bool, or text; "auto" for automatic).</param>
    /// <param name="Choices">For "choice": the allowed texts; for an automatic int with a range: "auto" and each value.</param>
    /// <param name="Minimum">Widget range (NaN when open).</param>
    /// <param name="Maximum">Widget range (NaN when open).</param>
    /// <param name="Step">Widget step (NaN for the widget's own).</param>
    /// <param name="Label">Short label.</param>
    /// <param name="Cli">Command-line name without dashes.</param>
    /// <param name="Help">What it does.</param>
    /// <param name="Suggestions">For "string": values a widget offers besides free input (a file).</param>
    public sealed record Entry(string Key, string Kind, bool Auto, JsonNode? Default, IReadOnlyList<string> Choices, double Minimum, double Maximum, double Step, string Label, string Cli, string Help, IReadOnlyList<string> Suggestions);

    /// <summary>The entries of <typeparamref name="T"/>, in declaration order; every settable property must carry an <see cref="OptionAttribute"/>.</summary>
    /// <param name="defaults">The record whose values are the defaults.</param>
    /// <exception cref="InvalidOperationException">A settable property has no <see cref="OptionAttribute"/>.</exception>
    public static IReadOnlyList<Entry> Describe<T>(T defaults)
    {
        var json = OptionsJson.Write(defaults);
        var entries = new List<Entry>();
        foreach (var property in typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var option = property.GetCustomAttribute<OptionAttribute>()
                ?? throw new InvalidOperationException($"{typeof(T).Name}.{property.Name} has no [Option] description.");
            string key = JsonNamingPolicy.SnakeCaseLower.ConvertName(property.Name);
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            bool auto = Nullable.GetUnderlyingType(property.PropertyType) is not null && type != typeof(string);
            string kind = type == typeof(bool) ? "bool"
                : type.IsEnum || option.Choices is not null ? "choice"
                : type == typeof(string) ? "string"
                : type == typeof(int) || type == typeof(long) ? "int"
                : type == typeof(double) || type == typeof(float) ? "float"
                : throw new InvalidOperationException($"{typeof(T).Name}.{property.Name}: type {type.Name} has no schema kind.");
            if (kind == "choice" && !type.IsEnum && type != typeof(string) && option.Choices is not null)
            {
                kind = "choice"; // whole numbers offered as a fixed set (e.g. test-time flips 1, 4, 8): JSON reads them from text
            }
            var choices = new List<string>();
            if (option.Choices is not null)
            {
                choices.AddRange(option.Choices);
            }
            else if (type.IsEnum)
            {
                foreach (var value in Enum.GetValues(type))
                {
                    choices.Add(JsonSerializer.SerializeToNode(value, type, OptionsJson.Settings)!.GetValue<string>());
                }
            }
            else if (kind == "int" && auto && !double.IsNaN(option.Minimum) && !double.IsNaN(option.Maximum) && option.Maximum - option.Minimum <= 16)
            {
                choices.Add("auto");
                for (int v = (int)option.Minimum; v <= (int)option.Maximum; v++)
                {
                    choices.Add(v.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
            }

            entries.Add(new Entry(
                key, kind, auto, json[key]?.DeepClone(), choices, option.Minimum, option.Maximum, option.Step,
                option.Label ?? key.Replace('_', ' '), option.Cli ?? key.Replace('_', '-'), option.Help, option.Suggestions ?? []));
        }

        return entries;
    }

    /// <summary>The table as JSON (an array of objects with the <see cref="Entry"/> fields in snake_case; NaN ranges as null).</summary>
    public static string ToJson<T>(T defaults)
    {
        var array = new JsonArray();
        foreach (var e in Describe(defaults))
        {
            array.Add(new JsonObject
            {
                ["key"] = e.Key,
                ["kind"] = e.Kind,
                ["auto"] = e.Auto,
                ["default"] = e.Default?.DeepClone(),
                ["choices"] = new JsonArray(e.Choices.Select(c => (JsonNode?)JsonValue.Create(c)).ToArray()),
                ["minimum"] = double.IsNaN(e.Minimum) ? null : e.Minimum,
                ["maximum"] = double.IsNaN(e.Maximum) ? null : e.Maximum,
                ["step"] = double.IsNaN(e.Step) ? null : e.Step,
                ["label"] = e.Label,
                ["cli"] = e.Cli,
                ["help"] = e.Help,
                ["suggestions"] = new JsonArray(e.Suggestions.Select(c => (JsonNode?)JsonValue.Create(c)).ToArray()),
            });
        }

        return array.ToJsonString();
    }
}
