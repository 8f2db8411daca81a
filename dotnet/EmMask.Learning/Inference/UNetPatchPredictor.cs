using EmMask.Core.Inference;
using EmMask.Core.Volumes;
using EmMask.Learning.Models;
using EmMask.Learning.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace EmMask.Learning.Inference;

/// <summary>
/// Runs a <see cref="MonaiUNet"/> on batches of already-normalised patches and returns sigmoid probabilities: the
/// sliding window's <see cref="IPatchPredictor"/> (the foreground channel; <see cref="PredictChannels"/> gives all).
/// Eval mode, no autograd, every temporary freed in a dispose scope. Not thread-safe: use one predictor per thread.
/// </summary>
public sealed class UNetPatchPredictor : IPatchPredictor, IScheduleExecutor, IDisposable
{
    /// <summary>Default padded-voxel budget of one device slab on a GPU (three float tensors: 3 GiB).</summary>
    public const long DefaultGpuSlabVoxels = 256L << 20;

    /// <summary>Default budget on the CPU, where the slab is a copy beside the volume (three float tensors: 384 MiB).</summary>
    public const long DefaultCpuSlabVoxels = 32L << 20;

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
        SlabVoxels = this.device.type == DeviceType.CUDA ? DefaultGpuSlabVoxels : DefaultCpuSlabVoxels;
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

    /// <summary>The torch device of the network.</summary>
    internal torch.Device TorchDevice => device;

    /// <summary>Padded voxels per slab of the device-resident sliding window (see <see cref="Execute"/>).</summary>
    public long SlabVoxels { get; set; }

    /// <summary>
    /// For tests of the out-of-memory retry: a device that holds this many float voxels (slab volume, accumulators and
    /// one slab-sized share per window in the batch); a larger slab throws as CUDA's allocator does. Null: no limit.
    /// </summary>
    internal long? SimulatedDeviceVoxels { get; set; }

    /// <summary>Batch size the last <see cref="Execute"/> ended with (halved when one window row did not fit).</summary>
    public int LastBatchSize { get; private set; }

    /// <summary>Slabs used by the last <see cref="Execute"/>.</summary>
    public int LastSlabs { get; private set; }

    /// <summary>
    /// Runs a whole sliding-window schedule on this predictor's device (<see cref="DeviceSlidingWindow"/>): the volume
    /// is uploaded once per slab, windows are cut, flipped and blended there, and the blend is downloaded once.
    /// </summary>
    public Volume<float> Execute(SlidingWindowSchedule schedule, bool[][] flips, int batchSize, IProgress<Core.Progress.ProgressReport>? progress, CancellationToken cancellationToken, Memory<float>? destination)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(flips);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        CheckPatch(schedule.Plan.Roi, nameof(schedule));

        var run = new DeviceSlidingWindow(this, SlabVoxels, batchSize);
        var result = run.Run(schedule, flips, progress, cancellationToken, destination);
        LastSlabs = run.Slabs;
        LastBatchSize = run.BatchSize;
        return result;
    }

    /// <summary>
    /// Foreground probabilities (float32, [n, z, y, x], on the device) of a batch of windows ([n, 1, z, y, x] float32
    /// on the device), averaged over the flip sets: each set flips the windows, runs the network, takes the sigmoid of
    /// the last channel and flips it back.
    /// </summary>
    internal Tensor ForegroundOnDevice(Tensor windows, bool[][] flips)
    {
        Tensor? sum = null;
        foreach (var axes in flips)
        {
            long[] dims = Enumerable.Range(0, 3).Where(a => axes[a]).Select(a => (long)a + 2).ToArray();
            var x = dims.Length == 0 ? windows : windows.flip(dims);
            if (dtype != ScalarType.Float32)
            {
                x = x.to(dtype);
            }

            var p = sigmoid(model.forward(x)).select(1, model.Config.OutChannels - 1).to(ScalarType.Float32);
            if (dims.Length > 0)
            {
                p = p.flip(dims.Select(d => d - 1).ToArray());
            }

            sum = sum is null ? p : sum.add_(p, Scalars.One);
        }

        if (flips.Length == 1)
        {
            return sum!;
        }

        using var mean = (1.0 / flips.Length).ToScalar(); // disposed after the call, so alive during it (Scalars)
        return sum!.mul_(mean);
    }

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
        CheckPatch(patch, nameof(patch));
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

    /// <summary>Every window axis must be a positive multiple of the network's size divisor.</summary>
    private void CheckPatch(Shape3 patch, string parameter)
    {
        int div = model.Config.SizeDivisor;
        if (patch.Z < 1 || patch.Y < 1 || patch.X < 1 || patch.Z % div != 0 || patch.Y % div != 0 || patch.X % div != 0)
        {
            throw new ArgumentOutOfRangeException(parameter, patch, $"Every patch axis must be a positive multiple of {div}.");
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (ownsModel) model.Dispose();
    }
}
