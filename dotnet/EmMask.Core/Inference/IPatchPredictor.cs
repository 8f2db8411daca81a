using EmMask.Core.Volumes;

namespace EmMask.Core.Inference;

/// <summary>
/// Predicts foreground probabilities for a batch of equally sized patches. The sliding-window inferer owns the
/// tiling and blending; an implementation only maps patches to probabilities (a U-Net, or a fake in tests).
/// </summary>
public interface IPatchPredictor
{
    /// <summary>Runs one batch.</summary>
    /// <param name="batch">
    /// <paramref name="batchSize"/> patches, each <c>patch.Length</c> float32 values in C order (z, y, x),
    /// laid out one after another (N, 1, Z, Y, X without the channel axis).
    /// </param>
    /// <param name="batchSize">Number of patches in <paramref name="batch"/>, at least 1.</param>
    /// <param name="patch">The shape of every patch.</param>
    /// <param name="probabilities">Output with the same layout and length as <paramref name="batch"/>, values 0..1.</param>
    void Predict(ReadOnlySpan<float> batch, int batchSize, Shape3 patch, Span<float> probabilities);
}
