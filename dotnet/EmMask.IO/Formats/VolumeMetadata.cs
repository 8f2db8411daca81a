using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EmMask.Core.Volumes;

namespace EmMask.IO.Formats;

/// <summary>
/// Voxel size and text attributes as they are stored beside a volume. <see cref="VoxelSize"/> is in nm by convention;
/// files carry <c>element_size_um</c> (z, y, x) in µm, as ilastik and elf write it, so values are scaled by 1000.
/// Unit spacing (1, 1, 1) means "unknown" and is not written, so other tools do not mistake it for 1 nm.
/// </summary>
internal static class VolumeMetadata
{
    public const string ElementSizeUm = "element_size_um";

    /// <summary>CREMI-style spacing in nm (z, y, x).</summary>
    public const string Resolution = "resolution";

    /// <summary>The µm values to store for a voxel size, or null when it is the unit default.</summary>
    public static double[]? ToElementSizeUm(VoxelSize size, bool is2D)
    {
        if (size == VoxelSize.Isotropic)
        {
            return null;
        }

        return is2D ? [size.Y / 1000, size.X / 1000] : [size.Z / 1000, size.Y / 1000, size.X / 1000];
    }

    /// <summary>The voxel size from stored spacing values: the last 2 or 3 entries map to (y, x) or (z, y, x).</summary>
    public static VoxelSize? FromSpacing(double[]? values, double scale)
    {
        if (values is null || values.Length is < 2 or > 3 || values.Any(v => !(v > 0) || !double.IsFinite(v)))
        {
            return null;
        }

        return values.Length == 3
            ? new VoxelSize(values[0] * scale, values[1] * scale, values[2] * scale)
            : new VoxelSize(1, values[0] * scale, values[1] * scale);
    }

    /// <summary>A JSON object holding the text attributes and, when known, <c>element_size_um</c>.</summary>
    public static string ToJson(IReadOnlyDictionary<string, string> attributes, VoxelSize size, bool is2D)
    {
        var root = new JsonObject();
        foreach (var (key, value) in attributes)
        {
            root[key] = value;
        }

        if (ToElementSizeUm(size, is2D) is { } um)
        {
            root[ElementSizeUm] = new JsonArray(um.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
        }

        return root.ToJsonString();
    }

    /// <summary>Parses what <see cref="ToJson"/> wrote; text that is not a JSON object yields nothing (no error).</summary>
    public static (Dictionary<string, string> Attributes, VoxelSize? VoxelSize) FromJson(string? text)
    {
        var attributes = new Dictionary<string, string>();
        if (string.IsNullOrWhiteSpace(text) || !text.TrimStart().StartsWith('{'))
        {
            return (attributes, null);
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return (attributes, null);
        }

        if (node is not JsonObject obj)
        {
            return (attributes, null);
        }

        VoxelSize? voxelSize = null;
        foreach (var (key, value) in obj)
        {
            if (value is JsonValue v && v.GetValueKind() == JsonValueKind.String)
            {
                attributes[key] = v.GetValue<string>();
            }
            else if (key == ElementSizeUm && value is JsonArray array)
            {
                var numbers = array.Select(n => n is JsonValue nv && nv.GetValueKind() == JsonValueKind.Number ? nv.GetValue<double>() : double.NaN).ToArray();
                voxelSize = FromSpacing(numbers, 1000);
            }
        }

        return (attributes, voxelSize);
    }

    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
