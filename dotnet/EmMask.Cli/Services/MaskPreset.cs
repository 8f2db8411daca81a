using System.Text.Json;
using EmMask.Core.Masking;

namespace EmMask.Cli.Services;

/// <summary>
/// A JSON parameter preset (<c>--preset FILE.json</c>): snake_case keys as in the CLI and the Python API (the same file
/// the napari panels load), e.g. <c>{"block_size": 9, "texture_sigma": 3, "threshold": "auto", "postprocess": "clean"}</c>
/// or <c>{"method": "unet", "roi": 96, "tta": 8, "envelope_margin": null}</c>. Unknown keys are an error.
/// </summary>
public sealed record MaskPreset(ClassicalMaskOptions Options, string? PostProcess, string? Method, UNetSettings UNet)
{
    /// <summary>Reads a preset on top of <paramref name="baseline"/> and <paramref name="unetBaseline"/>.</summary>
    public static MaskPreset Load(string path, ClassicalMaskOptions baseline, UNetSettings unetBaseline)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{path}: not valid JSON ({e.Message})", nameof(path));
        }
        catch (FileNotFoundException)
        {
            throw new ArgumentException($"{path}: preset file not found", nameof(path));
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException($"{path}: a preset must be a JSON object", nameof(path));
            }

            var unet = unetBaseline;
            string? post = null, method = null;
            var classical = System.Text.Json.Nodes.JsonNode.Parse(baseline.ToJson())!.AsObject();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                var v = property.Value;
                if (UNetKey(property.Name, v, ref unet, path))
                {
                    continue;
                }

                switch (property.Name)
                {
                    case "postprocess":
                        post = v.GetString();
                        break;
                    case "method":
                        method = v.GetString();
                        break;
                    default:
                        classical[property.Name] = System.Text.Json.Nodes.JsonNode.Parse(v.GetRawText());
                        break;
                }
            }

            ClassicalMaskOptions options;
            try
            {
                options = ClassicalMaskOptions.FromJson(classical.ToJsonString());
            }
            catch (ArgumentOutOfRangeException)
            {
                throw;
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"{path}: {e.Message}", nameof(path));
            }

            return new MaskPreset(options, post, method, unet);
        }
    }

    private static bool UNetKey(string name, JsonElement v, ref UNetSettings unet, string path)
    {
        switch (name)
        {
            case "roi":
                unet = unet with { Roi = v.ValueKind == JsonValueKind.Number ? v.GetInt32() : throw new ArgumentException($"{path}: roi must be one number (a cubic window)", nameof(path)) };
                return true;
            case "overlap":
                unet = unet with { Overlap = v.GetDouble() };
                return true;
            case "scale":
                unet = unet with { Scale = v.ValueKind == JsonValueKind.String ? ScaleOption.Parse(v.GetString()!) : v.GetInt32() };
                return true;
            case "device":
                unet = unet with { Device = v.GetString() ?? "auto" };
                return true;
            case "batch":
                unet = unet with { Batch = v.GetInt32() };
                return true;
            case "skip_tiles":
                unet = unet with { SkipTiles = v.GetBoolean() };
                return true;
            case "envelope_margin":
                unet = unet with { EnvelopeMargin = v.ValueKind == JsonValueKind.Null ? null : v.GetDouble() };
                return true;
            case "tta":
                unet = unet with { TestTimeFlips = v.GetInt32() };
                return true;
            case "model":
                unet = unet with { Model = v.GetString() };
                return true;
            default:
                return false;
        }
    }
}
