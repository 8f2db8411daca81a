using EmMask.Core.Inference;

namespace EmMask.Worker;

/// <summary>
/// Resolves built-in test models and U-Net model files. The last loaded model stays in memory: reusing the worker
/// process is what saves the model load on the next request.
/// </summary>
public sealed class PredictorProvider : IPredictorProvider
{
    private (string Path, string Device, IPatchPredictor Predictor)? _cached;

    /// <inheritdoc/>
    public IPatchPredictor Get(string modelPath, string device)
    {
        if (modelPath.StartsWith(BuiltinPredictors.Prefix, StringComparison.Ordinal))
        {
            return BuiltinPredictors.Create(modelPath[BuiltinPredictors.Prefix.Length..]);
        }

        string full = Path.GetFullPath(modelPath);
        if (_cached is { } c && c.Path == full && c.Device == device)
        {
            return c.Predictor;
        }

        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"Model file not found: {full}", full);
        }

        (_cached?.Predictor as IDisposable)?.Dispose();
        _cached = null;
        IPatchPredictor predictor = LoadUNet(full, device);
        _cached = (full, device, predictor);
        return predictor;
    }

    private static IPatchPredictor LoadUNet(string path, string device) =>
        throw new NotSupportedException($"Cannot load '{path}' on {device}: the TorchSharp U-Net is not wired into the worker yet.");
}
