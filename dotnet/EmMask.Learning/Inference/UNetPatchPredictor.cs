using EmMask.Core.Inference;
using EmMask.Core.Volumes;
using EmMask.Learning.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace EmMask.Learning.Inference;

/// <summary>
/// Runs a <see cref="MonaiUNet"/> on batches of already-normalised patches and returns sigmoid probabilities: the
/// sliding window's <see cref="IPatchPredictor"/> (the foreground channel; <see cref="PredictChannels"/> gives all).
/// Eval mode, no autograd, every temporary freed in a dispose scope. Not thread-safe: use one predictor per thread.
/// </summary>
public sealed class UNetPatchPredictor : IPatchPredictor, IDisposable
{
    private readonly MonaiUNet model;
    private readonly bool ownsModel;
    private readonly Device device;
    private readonly ScalarType dtype;
    private float[] scratch = [];
    private bool disposed;

    /// <summary>Wraps a loaded network (moved to <paramref name="device"/>, put in eval mode).</summary>
    /// <param name="model">The network.</param>
    /// <param name="device">"cpu", "cuda" or "auto".</param>
    /// <param name="ownsModel">Dispose <paramref name="model"/> with this predictor.</param>
    /// <param name="precision">Forward-pass precision; bf16 and fp16 need a CUDA device.</param>
    /// <exception cref="ArgumentException">Reduced precision on the CPU.</exception>
    public UNetPatchPredictor(MonaiUNet model, string device = "cpu", bool ownsModel = true, Precision precision = Precision.Fp32)
    {
        ArgumentNullException.ThrowIfNull(model);
        this.device = ModelStore.ResolveDevice(device);
        if (precision != Precision.Fp32 && this.device.type != DeviceType.CUDA)
        {
            throw new ArgumentException($"precision {precision.ToString().ToLowerInvariant()} needs a CUDA device; on {this.device} use fp32.", nameof(precision));
        }

        this.model = model;
        this.ownsModel = ownsModel;
        dtype = precision switch { Precision.Bf16 => ScalarType.BFloat16, Precision.Fp16 => ScalarType.Float16, _ => ScalarType.Float32 };
        model.to(this.device);
        if (dtype != ScalarType.Float32)
        {
            model.to(dtype);
        }

        model.eval();
    }

    /// <summary>Loads a model file (see <see cref="ModelStore.Load"/>) and wraps it.</summary>
    public static UNetPatchPredictor FromFile(string path, string device = "cpu", Precision precision = Precision.Fp32)
    {
        var (m, _) = ModelStore.Load(path, device);
        return new UNetPatchPredictor(m, device, ownsModel: true, precision);
    }

    /// <summary>Every window axis must be a multiple of this (the product of the strides).</summary>
    public int SizeDivisor => model.Config.SizeDivisor;

    /// <summary>Foreground probabilities (the last output channel) for a batch of single-channel patches.</summary>
    public void Predict(ReadOnlySpan<float> batch, int batchSize, Shape3 patch, Span<float> probabilities)
    {
        int channels = model.Config.OutChannels;
        if (channels == 1)
        {
            PredictChannels(batch, batchSize, patch, probabilities);
            return;
        }

        int length = (int)patch.Length;
        int needed = batchSize * channels * length;
        if (scratch.Length < needed)
        {
            scratch = new float[needed];
        }

        var all = scratch.AsSpan(0, needed);
        PredictChannels(batch, batchSize, patch, all);
        for (int b = 0; b < batchSize; b++)
        {
            all.Slice(((b * channels) + channels - 1) * length, length).CopyTo(probabilities.Slice(b * length, length));
        }
    }

    /// <summary>The network's architecture.</summary>
    public UNetConfig Config => model.Config;

    /// <summary>Device the network runs on ("cpu" or "cuda:0").</summary>
    public string Device => device.ToString();

    /// <summary>
    /// Predicts probabilities for <paramref name="batchSize"/> single-channel patches stored
    /// contiguously (C order: batch, z, y, x) in <paramref name="batch"/>.
    /// </summary>
    /// <param name="batch">batchSize × patch.Length normalised voxels (see IntensityNormalization).</param>
    /// <param name="batchSize">Number of patches (≥ 1).</param>
    /// <param name="patch">Patch shape; every axis a multiple of <see cref="UNetConfig.SizeDivisor"/>.</param>
    /// <param name="probabilities">Receives batchSize × OutChannels × patch.Length sigmoid outputs.</param>
    public void PredictChannels(ReadOnlySpan<float> batch, int batchSize, Shape3 patch, Span<float> probabilities)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1, nameof(batchSize));
        int div = model.Config.SizeDivisor;
        if (patch.Z < 1 || patch.Y < 1 || patch.X < 1 || patch.Z % div != 0 || patch.Y % div != 0 || patch.X % div != 0)
            throw new ArgumentOutOfRangeException(nameof(patch), patch, $"Every patch axis must be a positive multiple of {div}.");
        long n = (long)batchSize * model.Config.InChannels * patch.Length;
        if (batch.Length != n)
            throw new ArgumentException($"batch has {batch.Length} values; expected {n} (batchSize × channels × patch).", nameof(batch));
        long m = (long)batchSize * model.Config.OutChannels * patch.Length;
        if (probabilities.Length != m)
            throw new ArgumentException($"probabilities has {probabilities.Length} values; expected {m}.", nameof(probabilities));

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var input = tensor(batch.ToArray(), [batchSize, model.Config.InChannels, patch.Z, patch.Y, patch.X]).to(device);
        if (dtype != ScalarType.Float32)
        {
            input = input.to(dtype);
        }

        var prob = sigmoid(model.forward(input)).to(ScalarType.Float32).cpu().contiguous();
        prob.data<float>().CopyTo(probabilities);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (ownsModel) model.Dispose();
    }
}
