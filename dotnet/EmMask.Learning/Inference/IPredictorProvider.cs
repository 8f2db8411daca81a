using EmMask.Core.Inference;

namespace EmMask.Learning.Inference;

/// <summary>Turns a model path and device into a patch predictor, keeping loaded models for later requests.</summary>
public interface IPredictorProvider
{
    /// <summary>The model for <paramref name="modelPath"/> on <paramref name="device"/> at <paramref name="precision"/>.</summary>
    /// <exception cref="FileNotFoundException">The model file does not exist.</exception>
    LoadedModel Get(string modelPath, string device, Precision precision = Precision.Fp32);
}

/// <summary>A loaded model.</summary>
/// <param name="Predictor">Runs batches of windows.</param>
/// <param name="SizeDivisor">Every window axis must be a multiple of this (product of the U-Net's strides).</param>
public sealed record LoadedModel(IPatchPredictor Predictor, int SizeDivisor);
