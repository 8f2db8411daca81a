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

            var options = baseline;
            var unet = unetBaseline;
            string? post = null, method = null;
            foreach (var property in document.RootElement.EnumerateObject())
            {
                var v = property.Value;
                if (UNetKey(property.Name, v, ref unet, path))
                {
                    continue;
                }

                options = property.Name switch
                {
                    "block_size" => options with { BlockSize = v.GetInt32() },
                    "texture_sigma" => options with { TextureSigma = v.GetDouble() },
                    "edge_sigma" => options with { EdgeSigma = v.GetDouble() },
                    "minimum_region_size" or "min_region_size" => options with { MinimumRegionSize = v.GetInt64() },
                    "dog_sigma_low" => options with { DogSigmaLow = v.GetDouble() },
                    "dog_sigma_high" => options with { DogSigmaHigh = v.GetDouble() },
                    "isotropy" => options with { Isotropy = v.GetDouble() },
                    "dense_threshold" => options with { DenseThreshold = v.GetDouble() },
                    "dense_gap" => options with { DenseGap = v.GetInt32() },
                    "threshold" => options with { Threshold = v.ValueKind == JsonValueKind.String && v.GetString() == "auto" ? null : v.GetDouble() },
                    "postprocess" or "method" => options,
                    _ => throw new ArgumentException($"{path}: unknown preset key '{property.Name}'", nameof(path)),
                };
                if (property.Name == "postprocess")
                {
                    post = v.GetString();
                }
                else if (property.Name == "method")
                {
                    method = v.GetString();
                }
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
