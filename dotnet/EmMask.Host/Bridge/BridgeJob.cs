using EmMask.Core.Progress;

namespace EmMask.Host.Bridge;

/// <summary>
/// The state of one call from Python: a cancel handle, the latest progress report and what the bridge saw of the
/// input. Python creates one per call, polls <see cref="Stage"/>/<see cref="Fraction"/> from its own thread while the
/// call runs on another, and calls <see cref="Cancel"/> from any thread. Nothing here touches Python objects, so no
/// GIL is needed on either side.
/// </summary>
public sealed class BridgeJob : IProgress<ProgressReport>
{
    private readonly CancellationTokenSource cancellation = new();

    // A reference swap is atomic, so a reader on another thread always sees a whole report, never a torn one.
    private volatile ReportBox latest = new(new ProgressReport("queued", 0));

    /// <summary>The token the core's long work observes.</summary>
    public CancellationToken Token => cancellation.Token;

    /// <summary>True once <see cref="Cancel"/> was called.</summary>
    public bool IsCancellationRequested => cancellation.IsCancellationRequested;

    /// <summary>Name of the stage being run.</summary>
    public string Stage => latest.Report.Stage;

    /// <summary>Fraction of the whole call done, 0..1.</summary>
    public double Fraction => latest.Report.Fraction;

    /// <summary>Address of the first voxel of the input as the core read it (diagnostics: proves no copy).</summary>
    public long InputAddress { get; internal set; }

    /// <summary>True when the input had to be copied because it was not C-contiguous.</summary>
    public bool InputCopied { get; internal set; }

    /// <summary>Seconds spent inside the core's own computation (the rest of a call's time is bridge overhead).</summary>
    public double CoreSeconds { get; internal set; }

    /// <summary>Seconds spent copying results into the Python-owned output buffers.</summary>
    public double OutputSeconds { get; internal set; }

    /// <summary>Requests cancellation; safe from any thread, any number of times.</summary>
    public void Cancel() => cancellation.Cancel();

    /// <inheritdoc/>
    public void Report(ProgressReport value) => latest = new ReportBox(value);

    private sealed record ReportBox(ProgressReport Report);
}
