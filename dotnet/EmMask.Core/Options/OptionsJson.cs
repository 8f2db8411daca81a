using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using EmMask.Core.Masking;

namespace EmMask.Core.Options;

/// <summary>
/// The JSON form of an options record, which is its schema: snake_case names, unknown keys are errors, and "auto" (or
/// null) stands for an automatic value. Presets, the Python bridge and the napari panels all read and write this form.
/// </summary>
public static class OptionsJson
{
    /// <summary>Serializer settings shared by every options record.</summary>
    public static JsonSerializerOptions Settings { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.AllowReadingFromString, // command-line values arrive as text
        Converters = { new AutoDoubleConverter(), new AutoIntConverter(), new MaskingModeConverter(), new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>Reads <typeparamref name="T"/> from a JSON object; a missing key keeps the record's default.</summary>
    /// <exception cref="ArgumentException">Malformed JSON, an unknown key or a value of the wrong type (the message names it).</exception>
    public static T Read<T>(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Settings) ?? throw new ArgumentException("Options must be a JSON object, not null.");
        }
        catch (JsonException e)
        {
            string where = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? string.Empty : $" at '{e.Path.TrimStart('$', '.')}'";
            string what = e.Message.Contains("could not be mapped", StringComparison.Ordinal) ? "unknown key" : "invalid value";
            throw new ArgumentException($"{what}{where}: {FirstSentence(e.Message)}");
        }
    }

    /// <summary>The record as a JSON object (every key, automatic values as "auto").</summary>
    public static JsonObject Write<T>(T value) => JsonSerializer.SerializeToNode(value, Settings)!.AsObject();

    /// <summary>The snake_case JSON names of <typeparamref name="T"/>'s settable properties, in declaration order.</summary>
    public static IReadOnlyList<string> Keys<T>() =>
        typeof(T).GetProperties().Where(p => p.CanWrite).Select(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name)).ToArray();

    private static string FirstSentence(string message)
    {
        int end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..(end + 1)] : message;
    }

    /// <summary>double? as a number, or "auto"/null for null.</summary>
    private sealed class AutoDoubleConverter : JsonConverter<double?>
    {
        public override bool HandleNull => true;

        public override double? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
        {
            JsonTokenType.Null => null,
            JsonTokenType.String when string.Equals(reader.GetString(), "auto", StringComparison.OrdinalIgnoreCase) => null,
            JsonTokenType.String when double.TryParse(reader.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) => v,
            JsonTokenType.Number => reader.GetDouble(),
            _ => throw new JsonException("Expected a number or \"auto\"."),
        };

        public override void Write(Utf8JsonWriter writer, double? value, JsonSerializerOptions options)
        {
            if (value is { } v)
            {
                writer.WriteNumberValue(v);
            }
            else
            {
                writer.WriteStringValue("auto");
            }
        }
    }

    /// <summary>int? as a whole number, or "auto"/null for null.</summary>
    private sealed class AutoIntConverter : JsonConverter<int?>
    {
        public override bool HandleNull => true;

        public override int? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
        {
            JsonTokenType.Null => null,
            JsonTokenType.String when string.Equals(reader.GetString(), "auto", StringComparison.OrdinalIgnoreCase) => null,
            JsonTokenType.String when int.TryParse(reader.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) => v,
            JsonTokenType.Number when reader.TryGetInt32(out int v) => v,
            _ => throw new JsonException("Expected a whole number or \"auto\"."),
        };

        public override void Write(Utf8JsonWriter writer, int? value, JsonSerializerOptions options)
        {
            if (value is { } v)
            {
                writer.WriteNumberValue(v);
            }
            else
            {
                writer.WriteStringValue("auto");
            }
        }
    }

    /// <summary><see cref="MaskingMode"/> as "auto", "2d" or "3d".</summary>
    private sealed class MaskingModeConverter : JsonConverter<MaskingMode>
    {
        public override MaskingMode Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            try
            {
                return reader.TokenType == JsonTokenType.String ? MaskingModes.Parse(reader.GetString()!) : throw new JsonException("Expected \"auto\", \"2d\" or \"3d\".");
            }
            catch (ArgumentException e)
            {
                throw new JsonException(e.Message);
            }
        }

        public override void Write(Utf8JsonWriter writer, MaskingMode value, JsonSerializerOptions options) => writer.WriteStringValue(MaskingModes.Name(value));
    }
}
