using EmMask.Core.Inference;
using EmMask.Core.Volumes;
using EmMask.Learning.Inference;

namespace EmMask.Worker;

/// <summary>
/// Presents the TorchSharp <see cref="UNetPatchPredictor"/> as an <see cref="IPatchPredictor"/>. A network with
/// several output channels yields its last channel (foreground) per window.
/// </summary>
internal sealed class UNetPredictorAdapter(UNetPatchPredictor unet) : IPatchPredictor, IDisposable
{
    private float[] _scratch = [];

    public int SizeDivisor => unet.Config.SizeDivisor;

    public void Predict(ReadOnlySpan<float> batch, int batchSize, Shape3 patch, Span<float> probabilities)
    {
        int channels = unet.Config.OutChannels;
        if (channels == 1)
        {
            unet.Predict(batch, batchSize, patch, probabilities);
            return;
        }

        int length = (int)patch.Length;
        int needed = batchSize * channels * length;
        if (_scratch.Length < needed)
        {
            _scratch = new float[needed];
        }

        Span<float> all = _scratch.AsSpan(0, needed);
        unet.Predict(batch, batchSize, patch, all);
        for (int b = 0; b < batchSize; b++)
        {
            all.Slice(((b * channels) + channels - 1) * length, length).CopyTo(probabilities.Slice(b * length, length));
        }
    }

    public void Dispose() => unet.Dispose();
}
