using EmMask.Core.Inference;

namespace EmMask.Learning.Inference;

/// <summary>
/// Resolves built-in test models and U-Net model files (.safetensors or .pt, via the Learning ModelStore). The
/// last loaded model stays in memory: reusing the worker process is what saves the model load on the next request.
/// </summary>
public sealed class PredictorProvider : IPredictorProvider, IDisposable
{
    private (string Path, string Device, Precision Precision, DateTime Written, LoadedModel Model)? _cached;

    /// <inheritdoc/>
    public LoadedModel Get(string modelPath, string device, Precision precision = Precision.Fp32)
    {
        if (modelPath.StartsWith(BuiltinPredictors.Prefix, StringComparison.Ordinal))
        {
            return new LoadedModel(BuiltinPredictors.Create(modelPath[BuiltinPredictors.Prefix.Length..]), 16);
        }

        string full = Path.GetFullPath(modelPath);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"Model file not found: {full}", full);
        }

        // A retrained model saved over the same path must not be served from the cache.
        DateTime written = File.GetLastWriteTimeUtc(full);
        if (_cached is { } c && c.Path == full && c.Device == device && c.Precision == precision && c.Written == written)
        {
            return c.Model;
        }

        Dispose();
        var unet = UNetPatchPredictor.FromFile(full, device, precision);
        var model = new LoadedModel(unet, unet.SizeDivisor);
        _cached = (full, device, precision, written, model);
        return model;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        (_cached?.Model.Predictor as IDisposable)?.Dispose();
        _cached = null;
    }
}
