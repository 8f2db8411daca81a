using System.Text.Json;
using System.Text.Json.Serialization;

namespace EmMask.Host.Worker;

/// <summary>
/// One line of the worker protocol (JSON, one object per line, over the worker's stdin/stdout). Volumes never
/// travel here: they sit in a shared float32 file named by <see cref="File"/>.
/// Client → worker: predict, cancel, shutdown. Worker → client: ready, progress, done, cancelled, error.
/// </summary>
public sealed record WorkerMessage
{
    /// <summary>Message kind; one of the <c>*Type</c> constants of <see cref="WorkerProtocol"/>.</summary>
    public required string Type { get; init; }

    /// <summary>Request id the message belongs to (0 for ready/shutdown).</summary>
    public long Id { get; init; }

    /// <summary>predict: the shared-memory file holding input (first) then output, float32 C order.</summary>
    public string? File { get; init; }

    /// <summary>predict: volume shape (z, y, x).</summary>
    public int[]? Shape { get; init; }

    /// <summary>predict: voxel size (z, y, x), carried so the result keeps it.</summary>
    public double[]? VoxelSize { get; init; }

    /// <summary>predict: the shared file also holds a skip-score volume after the output.</summary>
    public bool? HasSkipScore { get; init; }

    /// <summary>predict: the request parameters.</summary>
    public WorkerRequestOptions? Options { get; init; }

    /// <summary>progress: stage name.</summary>
    public string? Stage { get; init; }

    /// <summary>progress: fraction done 0..1.</summary>
    public double? Fraction { get; init; }

    /// <summary>done: windows planned.</summary>
    public int? Windows { get; init; }

    /// <summary>done: windows skipped.</summary>
    public int? Skipped { get; init; }

    /// <summary>error: one-line message.</summary>
    public string? Message { get; init; }

    /// <summary>error: exception type name inside the worker.</summary>
    public string? ErrorType { get; init; }

    /// <summary>ready: the worker's process id.</summary>
    public int? Pid { get; init; }
}

/// <summary>The <see cref="UNetRequest"/> fields as they cross the wire.</summary>
public sealed record WorkerRequestOptions(
    string ModelPath, int[] RoiSize, double Overlap, int BatchSize, int Scale, float? SkipThreshold, string Device, bool NormalizeInput, int TestTimeFlips = 1)
{
    /// <summary>Wire form of a request.</summary>
    public static WorkerRequestOptions From(UNetRequest r) =>
        new(r.ModelPath, [r.RoiSize.Z, r.RoiSize.Y, r.RoiSize.X], r.Overlap, r.BatchSize, r.Scale, r.SkipThreshold, r.Device, r.NormalizeInput, r.TestTimeFlips);

    /// <summary>Back to a request.</summary>
    public UNetRequest ToRequest() =>
        new(ModelPath, new(RoiSize[0], RoiSize[1], RoiSize[2]), Overlap, BatchSize, Scale, SkipThreshold, Device, NormalizeInput, TestTimeFlips);
}

/// <summary>Message kinds and the JSON settings shared by client and worker.</summary>
public static class WorkerProtocol
{
    /// <summary>Client → worker: run a prediction.</summary>
    public const string PredictType = "predict";

    /// <summary>Client → worker: stop the request with this id.</summary>
    public const string CancelType = "cancel";

    /// <summary>Client → worker: exit.</summary>
    public const string ShutdownType = "shutdown";

    /// <summary>Worker → client: started and listening.</summary>
    public const string ReadyType = "ready";

    /// <summary>Worker → client: progress of a request.</summary>
    public const string ProgressType = "progress";

    /// <summary>Worker → client: output written to the shared file.</summary>
    public const string DoneType = "done";

    /// <summary>Worker → client: request stopped after a cancel.</summary>
    public const string CancelledType = "cancelled";

    /// <summary>Worker → client: the request failed.</summary>
    public const string ErrorType = "error";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>One line of JSON, no newline.</summary>
    public static string Serialize(WorkerMessage message) => JsonSerializer.Serialize(message, Json);

    /// <summary>Parses one line; null for blank lines or lines that are not protocol JSON (stray output).</summary>
    public static WorkerMessage? TryParse(string? line)
    {
        if (string.IsNullOrWhiteSpace(line) || line[0] != '{')
        {
            return null;
        }

        try
        {
            var message = JsonSerializer.Deserialize<WorkerMessage>(line, Json);
            return message?.Type is null ? null : message;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
