using EmMask.Core.Inference;

namespace EmMask.Worker;

/// <summary>Turns a model path and device into a patch predictor, keeping loaded models for later requests.</summary>
public interface IPredictorProvider
{
    /// <summary>The predictor for <paramref name="modelPath"/> on <paramref name="device"/>.</summary>
    /// <exception cref="FileNotFoundException">The model file does not exist.</exception>
    IPatchPredictor Get(string modelPath, string device);
}
