using System.Text.Json;
using EmMask.Core.Masking;

namespace EmMask.Cli.Services;

/// <summary>
/// A JSON parameter preset (<c>--preset FILE.json</c>): snake_case keys as in the CLI, e.g.
/// <c>{"block_size": 9, "texture_sigma": 3, "threshold": "auto", "postprocess": "clean"}</c>. Unknown keys are an error.
/// </summary>
public sealed record MaskPreset(ClassicalMaskOptions Options, string? PostProcess)
{
    /// <summary>Reads a preset on top of <paramref name="baseline"/>.</summary>
    public static MaskPreset Load(string path, ClassicalMaskOptions baseline)
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
            string? post = null;
            foreach (var property in document.RootElement.EnumerateObject())
            {
                var v = property.Value;
                options = property.Name switch
                {
                    "block_size" => options with { BlockSize = v.GetInt32() },
                    "texture_sigma" => options with { TextureSigma = v.GetDouble() },
                    "edge_sigma" => options with { EdgeSigma = v.GetDouble() },
                    "minimum_region_size" or "min_region_size" => options with { MinimumRegionSize = v.GetInt64() },
                    "dog_sigma_low" => options with { DogSigmaLow = v.GetDouble() },
                    "dog_sigma_high" => options with { DogSigmaHigh = v.GetDouble() },
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
            }

            return new MaskPreset(options, post);
        }
    }
}
