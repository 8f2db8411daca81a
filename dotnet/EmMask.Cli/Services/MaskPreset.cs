using System.Text.Json;
using EmMask.Core.Inference;
using EmMask.Core.Masking;

namespace EmMask.Cli.Services;

/// <summary>
/// A JSON parameter preset (<c>--preset FILE.json</c>): the keys of both options records' JSON forms (the schemas of
/// <see cref="ClassicalMaskOptions"/> and <see cref="UNetMaskOptions"/>), plus <c>method</c> and <c>postprocess</c>; the same file
/// the napari panels load, e.g. <c>{"block_size": 9, "mode": "2d", "threshold": "auto", "postprocess": "clean"}</c> or
/// <c>{"method": "unet", "roi": 96, "tta": 8, "envelope": false}</c>. Unknown keys are an error.
/// </summary>
public sealed record MaskPreset(ClassicalMaskOptions Options, string? PostProcess, string? Method, UNetMaskOptions UNet)
{
    private static readonly HashSet<string> UNetKeys = [.. Core.Options.OptionsJson.Keys<UNetMaskOptions>()];

    /// <summary>Reads a preset on top of <paramref name="baseline"/> and <paramref name="unetBaseline"/>.</summary>
    public static MaskPreset Load(string path, ClassicalMaskOptions baseline, UNetMaskOptions unetBaseline)
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

            string? post = null, method = null;
            var classical = System.Text.Json.Nodes.JsonNode.Parse(baseline.ToJson())!.AsObject();
            var unet = System.Text.Json.Nodes.JsonNode.Parse(unetBaseline.ToJson())!.AsObject();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                var v = property.Value;
                switch (property.Name)
                {
                    case "postprocess":
                        post = v.GetString();
                        break;
                    case "method":
                        method = v.GetString();
                        break;
                    default:
                        var target = UNetKeys.Contains(property.Name) ? unet : classical;
                        target[property.Name] = System.Text.Json.Nodes.JsonNode.Parse(v.GetRawText());
                        break;
                }
            }

            try
            {
                return new MaskPreset(ClassicalMaskOptions.FromJson(classical.ToJsonString()), post, method, UNetMaskOptions.FromJson(unet.ToJsonString()));
            }
            catch (ArgumentOutOfRangeException)
            {
                throw;
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"{path}: {e.Message}", nameof(path));
            }
        }
    }
}
