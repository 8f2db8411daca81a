namespace EmMask.Remote;

/// <summary>How <see cref="UNetWorkerClient"/> finds and supervises its worker.</summary>
/// <param name="WorkerPath">The worker .dll, apphost or folder; null: EM_MASK_WORKER, beside EmMask.Host.dll, the repo build.</param>
/// <param name="StartupTimeout">Longest wait for a new worker's ready message (default 60 s).</param>
/// <param name="SilenceTimeout">
/// Longest time a running request may go without any message (progress comes once per batch); after it the worker
/// is presumed hung, killed, and the call fails with <see cref="WorkerCrashedException"/> (default 10 min).
/// </param>
/// <param name="CancelGrace">
/// After a cancel, how long the worker gets at least to acknowledge before it is killed (default 3 s); when its batches
/// have taken longer, it gets twice the longest gap between its messages in this request, at most the silence timeout.
/// </param>
public sealed record UNetWorkerClientOptions(
    string? WorkerPath = null,
    TimeSpan? StartupTimeout = null,
    TimeSpan? SilenceTimeout = null,
    TimeSpan? CancelGrace = null)
{
    internal TimeSpan Startup => StartupTimeout ?? TimeSpan.FromSeconds(60);

    internal TimeSpan Silence => SilenceTimeout ?? TimeSpan.FromMinutes(10);

    internal TimeSpan Grace => CancelGrace ?? TimeSpan.FromSeconds(3);
}
