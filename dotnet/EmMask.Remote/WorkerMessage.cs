using System.Text.Json;
using System.Text.Json.Serialization;
using EmMask.Core.Volumes;

namespace EmMask.Remote;

/// <summary>
/// One line of the worker protocol (JSON, one object per line, over the worker's stdin/stdout). Volumes never
/// travel here: they sit in a shared file named by <see cref="File"/> (<see cref="SharedVolumeFile"/>).
/// A finetune request's file holds the image, then the proofread labels in the float32 region (<see cref="FineTuneLabels"/>).
/// Client → worker: predict, finetune, cancel, shutdown. Worker → client: ready, progress, done, cancelled, error.
/// </summary>
public sealed record WorkerMessage
{
    /// <summary>Message kind; one of the <c>*Type</c> constants of <see cref="WorkerProtocol"/>.</summary>
    public required string Type { get; init; }

    /// <summary>Request id the message belongs to (0 for ready/shutdown).</summary>
    public long Id { get; init; }

    /// <summary>predict: the shared-memory file holding the input (in <see cref="InputType"/>) then the float32 output, C order.</summary>
    public string? File { get; init; }

    /// <summary>predict: volume shape (z, y, x).</summary>
    public int[]? Shape { get; init; }

    /// <summary>predict: voxel size (z, y, x), carried so the result keeps it.</summary>
    public double[]? VoxelSize { get; init; }

    /// <summary>predict: the input's element type: "uint8", "uint16" or "float32".</summary>
    public string? InputType { get; init; }

    /// <summary>predict: the U-Net options in their JSON form (<c>UNetMaskOptions</c>, the schema); finetune: <c>FineTuneOptions</c>.</summary>
    public string? Options { get; init; }

    /// <summary>finetune: the model file to write (.safetensors).</summary>
    public string? Target { get; init; }

    /// <summary>progress: stage name.</summary>
    public string? Stage { get; init; }

    /// <summary>progress: fraction done 0..1.</summary>
    public double? Fraction { get; init; }

    /// <summary>done: windows planned.</summary>
    public int? Windows { get; init; }

    /// <summary>done: windows skipped.</summary>
    public int? Skipped { get; init; }

    /// <summary>done: the working scale used.</summary>
    public int? Scale { get; init; }

    /// <summary>done: the model the worker resolved and used (finetune: the model file written).</summary>
    public string? Model { get; init; }

    /// <summary>done: the method's warnings.</summary>
    public string[]? Warnings { get; init; }

    /// <summary>done: the method's notes.</summary>
    public string[]? Notes { get; init; }

    /// <summary>error: one-line message.</summary>
    public string? Message { get; init; }

    /// <summary>error: exception type name inside the worker.</summary>
    public string? ErrorType { get; init; }

    /// <summary>ready: the worker's process id.</summary>
    public int? Pid { get; init; }
}

/// <summary>Element type names on the wire.</summary>
public static class WireTypes
{
    /// <summary>The wire name of a voxel type.</summary>
    public static string Name(VoxelType type) => type switch
    {
        VoxelType.UInt8 => "uint8",
        VoxelType.UInt16 => "uint16",
        VoxelType.Float32 => "float32",
        _ => throw new NotSupportedException($"The worker takes uint8, uint16 or float32 volumes, not {type}."),
    };

    /// <summary>The voxel type of a wire name.</summary>
    public static VoxelType Parse(string? name) => name switch
    {
        "uint8" => VoxelType.UInt8,
        "uint16" => VoxelType.UInt16,
        "float32" or null => VoxelType.Float32,
        _ => throw new ArgumentException($"Unknown input type '{name}' in a predict request."),
    };
}

/// <summary>Message kinds and the JSON settings shared by client and worker.</summary>
public static class WorkerProtocol
{
    /// <summary>Client → worker: run a prediction.</summary>
    public const string PredictType = "predict";

    /// <summary>Client → worker: fine-tune the U-Net from proofread labels (<c>ProofreadFineTuning</c>).</summary>
    public const string FineTuneType = "finetune";

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
