using System.Text.Json;
using EmMask.Core.Inference;
using EmMask.Core.Masking;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;
using EmMask.Remote;

namespace EmMask.Host.Bridge;

/// <summary>U-Net entry point: the model runs in the EmMask.Worker process, reused across calls.</summary>
public static partial class NumpyBridge
{
    private static readonly Lock ClientLock = new();

    // One client per process, so the worker process (and the model it loaded) is reused across calls; the client
    // itself starts a fresh worker on the call after a crash.
    private static UNetWorkerClient? unetClient;

    /// <summary>The U-Net worker's process id, or -1 when no worker is running (diagnostics and tests).</summary>
    public static int UNetWorkerProcessId
    {
        get
        {
            lock (ClientLock)
            {
                return unetClient?.WorkerProcessId ?? -1;
            }
        }
    }

    /// <summary>
    /// Runs the U-Net method (<c>UNetMasker</c>, whole: envelope, sliding window, gate) on a uint8, uint16 or float32
    /// array in the worker process, waiting for it on this thread with the job's progress and cancellation. The array is
    /// shared with the worker in its own type, so the worker masks exactly what the CLI would.
    /// <see cref="BridgeResult.Value"/> is the worker's process id; <see cref="BridgeResult.Json"/> is <c>{"mask": [id,
    /// address], "probability": [id, address], "windows", "skipped", "worker_pid", "worker_started", "model", "scale",
    /// "warnings", "notes"}</c>: the mask (<see cref="ProbabilityMask"/>) and the probabilities, lent to Python
    /// (<see cref="LentBuffers"/>).
    /// </summary>
    /// <param name="address">Address of the image's first element.</param>
    /// <param name="shape">2 or 3 axis lengths.</param>
    /// <param name="strides">Byte strides, one per axis.</param>
    /// <param name="dtype">numpy dtype string (uint8, uint16 or float32).</param>
    /// <param name="model">Model file, <c>builtin:NAME</c>, or empty for the shipped model (the worker resolves it).</param>
    /// <param name="optionsJson">The options' JSON form (<see cref="UNetMaskOptions"/>, snake_case, unknown keys refused) plus <c>voxel_size</c> ([z, y, x]).</param>
    /// <param name="job">Progress and cancellation for this call.</param>
    public static BridgeResult UNetMask(
        long address, long[] shape, long[] strides, string dtype, string? model, string optionsJson, BridgeJob job) =>
        BridgeResult.Guard(() =>
        {
            ArgumentNullException.ThrowIfNull(job);
            var (options, voxelSize) = ParseUNetOptions(optionsJson);
            if (!string.IsNullOrWhiteSpace(model))
            {
                options = options with { Model = model };
            }

            var input = new NumpyArray(address, shape, strides, dtype).ToVolume(voxelSize, job);
            UNetWorkerClient client = Client();
            int before = client.WorkerProcessId ?? -1;
            job.Report(new ProgressReport(before < 0 ? "starting U-Net worker" : "sending volume to U-Net worker", 0));
            UNetResult result = TimeCore(job, () => Predict(client, input, options, job));

            var watch = System.Diagnostics.Stopwatch.StartNew();
            Volume<byte> mask = ProbabilityMask.From(result.Probabilities);
            var lentMask = LentBuffers.Lend(mask);
            var lentProbability = LentBuffers.Lend(result.Probabilities);
            job.OutputSeconds = watch.Elapsed.TotalSeconds;
            var json = new Dictionary<string, object>
            {
                ["mask"] = new[] { lentMask.Id, lentMask.Address },
                ["probability"] = new[] { lentProbability.Id, lentProbability.Address },
                ["windows"] = result.Windows,
                ["skipped"] = result.Skipped,
                ["worker_pid"] = result.WorkerProcessId,
                ["worker_started"] = result.WorkerProcessId != before,
                ["model"] = result.Model,
                ["scale"] = result.Scale,
                ["warnings"] = result.Warnings,
                ["notes"] = result.Notes,
            };
            return BridgeResult.Success(result.WorkerProcessId, JsonSerializer.Serialize(json));
        });

    /// <summary>
    /// Fine-tunes the U-Net from a proofreader's corrections in the worker process (<c>ProofreadFineTuning</c>, whole:
    /// working scale, patches on the proofread voxels only, an atomic write of the model), waiting on this thread with the
    /// job's progress and cancellation. <see cref="BridgeResult.Json"/> is <c>{"model", "scale", "notes", "worker_pid"}</c>.
    /// </summary>
    /// <param name="address">Address of the image's first element.</param>
    /// <param name="shape">2 or 3 axis lengths.</param>
    /// <param name="strides">Byte strides, one per axis.</param>
    /// <param name="dtype">numpy dtype string (uint8, uint16 or float32).</param>
    /// <param name="labelsAddress">Address of the labels' first element (uint8, the image's shape: 1 tissue, 0 non-brain, 255 not proofread).</param>
    /// <param name="labelsStrides">The labels' byte strides.</param>
    /// <param name="target">The model file to write (.safetensors).</param>
    /// <param name="optionsJson">The options' JSON form (<see cref="FineTuneOptions"/>, snake_case, unknown keys refused) plus <c>voxel_size</c> ([z, y, x]).</param>
    /// <param name="job">Progress and cancellation for this call.</param>
    public static BridgeResult UNetFineTune(
        long address, long[] shape, long[] strides, string dtype, long labelsAddress, long[] labelsStrides, string target, string optionsJson, BridgeJob job) =>
        BridgeResult.Guard(() =>
        {
            ArgumentNullException.ThrowIfNull(job);
            var (json, voxelSize) = BridgeOptions.SplitVoxelSize(optionsJson, "Fine-tuning");
            var options = FineTuneOptions.FromJson(json);
            var image = new NumpyArray(address, shape, strides, dtype).ToVolume(voxelSize, job);
            var labels = new NumpyArray(labelsAddress, shape, labelsStrides, "uint8").ToVolume<byte>(voxelSize, null);
            UNetWorkerClient client = Client();
            int before = client.WorkerProcessId ?? -1;
            job.Report(new ProgressReport(before < 0 ? "starting U-Net worker" : "sending volume to U-Net worker", 0));
            var (model, scale, notes) = TimeCore(job, () => Run(() => client.FineTuneAsync(image, labels, target, options, job, job.Token).GetAwaiter().GetResult()));
            var result = new Dictionary<string, object>
            {
                ["model"] = model,
                ["scale"] = scale,
                ["notes"] = notes,
                ["worker_pid"] = client.WorkerProcessId ?? -1,
            };
            return BridgeResult.Success(client.WorkerProcessId ?? -1, JsonSerializer.Serialize(result));
        });

    /// <summary>
    /// <see cref="UNetMaskOptions.Default"/> in its JSON form and the schema of every parameter (key, kind, default,
    /// choices, range, label, help), from which the Python API documents and the napari panel builds its widgets.
    /// </summary>
    public static string UNetSchemaJson() => Core.Options.OptionsSchema.ToJson(UNetMaskOptions.Default);

    /// <summary>Stops the U-Net worker process, if one runs (Python calls it at exit); the next call starts a new one.</summary>
    public static void ShutdownUNetWorker()
    {
        lock (ClientLock)
        {
            unetClient?.Dispose();
            unetClient = null;
        }
    }

    /// <summary>Reads the options JSON the Python side writes (the options' JSON form plus <c>voxel_size</c>); unknown keys are an error.</summary>
    internal static (UNetMaskOptions Options, VoxelSize VoxelSize) ParseUNetOptions(string json)
    {
        var (options, voxelSize) = BridgeOptions.SplitVoxelSize(json, "U-Net");
        return (UNetMaskOptions.FromJson(options), voxelSize);
    }

    /// <summary>
    /// <see cref="FineTuneOptions.Default"/> in its JSON form and the schema of every parameter, from which the Python API
    /// documents and the napari panel builds its widgets.
    /// </summary>
    public static string FineTuneSchemaJson() => Core.Options.OptionsSchema.ToJson(FineTuneOptions.Default);

    private static UNetResult Predict(UNetWorkerClient client, IVolume volume, UNetMaskOptions options, BridgeJob job) =>
        Run(() => client.PredictAsync(volume, options, job, job.Token).GetAwaiter().GetResult());

    private static T Run<T>(Func<T> call)
    {
        try
        {
            return call();
        }
        catch (FileNotFoundException e)
        {
            // Options are checked above and the model is the worker's to find, so a missing file here is the worker
            // executable (WorkerLocator).
            throw new UnavailableException(e.Message, e);
        }
    }

    private static UNetWorkerClient Client()
    {
        lock (ClientLock)
        {
            return unetClient ??= new UNetWorkerClient();
        }
    }
}
