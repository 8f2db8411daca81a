using System.Numerics.Tensors;
using System.Text.Json;
using EmMask.Core.Inference;
using EmMask.Core.Masking;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;
using EmMask.Host.Worker;

namespace EmMask.Host.Bridge;

/// <summary>U-Net entry point: the model runs in the EmMask.Worker process, reused across calls.</summary>
public static partial class NumpyBridge
{
    /// <summary>Probability at or above which a voxel is tissue in the returned mask.</summary>
    public const float UNetMaskThreshold = 0.5f;

    /// <summary>
    /// Skip threshold used when Python asks for tile skipping without a value: a window is skipped when the local
    /// standard deviation of the normalised input (0..1 between the 1st and 99th percentile) stays below it
    /// everywhere, i.e. only windows that are flat to within 2 % of the contrast range (blank resin, padding).
    /// </summary>
    public const float DefaultSkipThreshold = 0.02f;

    /// <summary>Skip threshold on the 0/1 envelope score: a window is skipped when it holds no envelope voxel.</summary>
    public const float EnvelopeSkipThreshold = 0.5f;

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
    /// Runs the U-Net on a uint8, uint16 or float32 array (float32 C-contiguous input is read in place, other
    /// inputs are converted once) in the worker process, waiting for it on this thread with the job's progress and
    /// cancellation. <see cref="BridgeResult.Value"/> is the worker's process id; <see cref="BridgeResult.Json"/> is
    /// <c>{"mask": [id, address], "probability": [id, address], "windows", "skipped", "worker_pid",
    /// "worker_started", "model", "scale"}</c> (scale: the working scale used): the mask (probability ≥ 0.5, uint8 0/1) and the probabilities, lent to Python
    /// (<see cref="LentBuffers"/>).
    /// </summary>
    /// <param name="address">Address of the image's first element.</param>
    /// <param name="shape">2 or 3 axis lengths.</param>
    /// <param name="strides">Byte strides, one per axis.</param>
    /// <param name="dtype">numpy dtype string (uint8, uint16 or float32).</param>
    /// <param name="model">Model file, <c>builtin:NAME</c>, or empty for the shipped model (<see cref="ModelLocator"/>).</param>
    /// <param name="optionsJson">
    /// <c>Roi</c> ([z, y, x]), <c>Overlap</c>, <c>Batch</c>, <c>Scale</c> (integer ≥ 1, or "auto": <see cref="WorkingScale"/>), <c>Device</c>,
    /// <c>SkipThreshold</c> (null: no skipping), <c>VoxelSize</c> ([z, y, x]); missing = <see cref="UNetRequest"/>'s default;
    /// <c>EnvelopeMargin</c> (voxels; missing or null: no gate): probabilities outside the <see cref="TissueEnvelope"/> become 0.
    /// </param>
    /// <param name="job">Progress and cancellation for this call.</param>
    public static BridgeResult UNetMask(
        long address, long[] shape, long[] strides, string dtype, string? model, string optionsJson, BridgeJob job) =>
        BridgeResult.Guard(() =>
        {
            ArgumentNullException.ThrowIfNull(job);
            var (request, voxelSize, envelopeMargin) = ParseUNetOptions(optionsJson, ModelLocator.Resolve(model));
            var input = new NumpyArray(address, shape, strides, dtype);
            if (request.Scale == WorkingScale.Auto)
            {
                request = request with { Scale = WorkingScale.FromVoxelSize(voxelSize, input.Shape3) };
            }

            request.Validate();
            Volume<float> volume = ToFloat(input.ToVolume(voxelSize, job), job);
            UNetWorkerClient client = Client();
            int before = client.WorkerProcessId ?? -1;
            job.Report(new ProgressReport(before < 0 ? "starting U-Net worker" : "sending volume to U-Net worker", 0));
            UNetResult result = TimeCore(job, () =>
            {
                // With an envelope, skipping (when asked for) uses it as the CLI does: the windows left out are then
                // exactly those the gate zeroes, so skipping cannot change the result.
                Volume<byte>? envelope = null;
                Volume<float>? skipScore = null;
                var run = request;
                if (envelopeMargin is double margin)
                {
                    job.Report(new ProgressReport("tissue envelope", 0));
                    envelope = TissueEnvelope.Compute(volume, margin, null, job.Token);
                    if (request.SkipThreshold is not null)
                    {
                        skipScore = TissueEnvelope.AsSkipScore(envelope);
                        run = request with { SkipThreshold = EnvelopeSkipThreshold };
                    }
                }

                var predicted = Predict(client, volume, run, job, skipScore);
                if (envelope is not null)
                {
                    TissueEnvelope.Gate(predicted.Probabilities, envelope);
                }

                return predicted;
            });

            var watch = System.Diagnostics.Stopwatch.StartNew();
            Volume<byte> mask = Threshold(result.Probabilities);
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
                ["model"] = request.ModelPath,
                ["scale"] = request.Scale,
            };
            return BridgeResult.Success(result.WorkerProcessId, JsonSerializer.Serialize(json));
        });

    /// <summary>Stops the U-Net worker process, if one runs (Python calls it at exit); the next call starts a new one.</summary>
    public static void ShutdownUNetWorker()
    {
        lock (ClientLock)
        {
            unetClient?.Dispose();
            unetClient = null;
        }
    }

    /// <summary>Reads the options JSON the Python side writes; unknown keys are an error so typos do not pass silently.</summary>
    internal static (UNetRequest Request, VoxelSize VoxelSize, double? EnvelopeMargin) ParseUNetOptions(string json, string modelPath)
    {
        ArgumentNullException.ThrowIfNull(json);
        using var document = JsonDocument.Parse(json);
        var request = new UNetRequest(modelPath, new Shape3(64, 64, 64), Overlap: 0.25, BatchSize: 2, Device: "auto");
        var voxelSize = VoxelSize.Isotropic;
        double? envelopeMargin = null;
        foreach (var property in document.RootElement.EnumerateObject())
        {
            var v = property.Value;
            switch (property.Name)
            {
                case "Roi":
                    int[] roi = v.EnumerateArray().Select(e => e.GetInt32()).ToArray();
                    if (roi.Length != 3 || roi.Min() < 1)
                    {
                        throw new ArgumentOutOfRangeException(nameof(json), "roi needs 3 positive window lengths (z, y, x).");
                    }

                    request = request with { RoiSize = new Shape3(roi[0], roi[1], roi[2]) };
                    break;
                case "Overlap":
                    request = request with { Overlap = v.GetDouble() };
                    break;
                case "Batch":
                    request = request with { BatchSize = v.GetInt32() };
                    break;
                case "Scale":
                    // "auto" (or 0): chosen from the voxel size once the array's shape is known (WorkingScale).
                    request = request with { Scale = v.ValueKind == JsonValueKind.String && v.GetString() == "auto" ? WorkingScale.Auto : v.GetInt32() };
                    break;
                case "Device":
                    request = request with { Device = v.GetString() ?? "auto" };
                    break;
                case "TestTimeFlips":
                    request = request with { TestTimeFlips = v.GetInt32() };
                    break;
                case "SkipThreshold":
                    request = request with { SkipThreshold = v.ValueKind == JsonValueKind.Null ? null : v.GetSingle() };
                    break;
                case "VoxelSize":
                    double[] s = v.EnumerateArray().Select(e => e.GetDouble()).ToArray();
                    if (s.Length != 3)
                    {
                        throw new ArgumentException("VoxelSize needs 3 values (z, y, x).", nameof(json));
                    }

                    voxelSize = new VoxelSize(s[0], s[1], s[2]).Validate();
                    break;
                case "EnvelopeMargin":
                    envelopeMargin = v.ValueKind == JsonValueKind.Null ? null : v.GetDouble();
                    if (envelopeMargin is double m && !(m >= 0 && double.IsFinite(m)))
                    {
                        throw new ArgumentOutOfRangeException(nameof(json), m, "envelope_margin must be a finite number of voxels >= 0, or None.");
                    }

                    break;
                default:
                    throw new ArgumentException($"Unknown U-Net option '{property.Name}'.", nameof(json));
            }
        }

        return (request, voxelSize, envelopeMargin);
    }

    private static UNetResult Predict(UNetWorkerClient client, Volume<float> volume, UNetRequest request, BridgeJob job, Volume<float>? skipScore)
    {
        try
        {
            return client.PredictAsync(volume, request, job, job.Token, skipScore).GetAwaiter().GetResult();
        }
        catch (FileNotFoundException e)
        {
            // The request was validated above, so a missing file here is the worker executable (WorkerLocator).
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

    /// <summary>The input as float32: the wrapped array itself when it already is one, else a converted copy.</summary>
    private static Volume<float> ToFloat(IVolume volume, BridgeJob job)
    {
        if (volume is Volume<float> f)
        {
            return f;
        }

        var converted = new Volume<float>(volume.Shape, volume.VoxelSize);
        switch (volume)
        {
            case Volume<byte> b:
                TensorPrimitives.ConvertTruncating<byte, float>(b.Span, converted.Span);
                break;
            case Volume<ushort> u:
                TensorPrimitives.ConvertTruncating<ushort, float>(u.Span, converted.Span);
                break;
            default:
                throw new NotSupportedException($"Voxel type {volume.VoxelType} is not supported by the U-Net.");
        }

        job.InputCopied = true;
        return converted;
    }

    private static Volume<byte> Threshold(Volume<float> probabilities)
    {
        var mask = new Volume<byte>(probabilities.Shape, probabilities.VoxelSize);
        ReadOnlySpan<float> p = probabilities.Span;
        Span<byte> m = mask.Span;
        for (int i = 0; i < p.Length; i++)
        {
            m[i] = p[i] >= UNetMaskThreshold ? (byte)1 : (byte)0;
        }

        return mask;
    }
}
