using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.Host.Worker;

/// <summary>
/// Runs the U-Net in a separate EmMask.Worker process, because TorchSharp's libtorch and another libtorch (e.g.
/// PyTorch inside napari's Python) crash when loaded into one process. The worker starts on the first call and is
/// reused; volumes cross through a shared memory-mapped file, messages as JSON lines over its stdin/stdout.
/// A dead or hung worker fails the pending call with <see cref="WorkerCrashedException"/>; the next call starts a
/// fresh one. Calls are serialised (one request at a time per client).
/// </summary>
public sealed class UNetWorkerClient : IDisposable
{
    private readonly UNetWorkerClientOptions _options;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private WorkerProcess? _worker;
    private long _nextId;
    private bool _disposed;

    /// <summary>Creates a client; no process starts until the first call.</summary>
    public UNetWorkerClient(UNetWorkerClientOptions? options = null)
    {
        _options = options ?? new UNetWorkerClientOptions();
        SharedVolumeFile.SweepStale();
    }

    /// <summary>The running worker's process id, or null when none is running.</summary>
    public int? WorkerProcessId => _worker is { HasExited: false } w ? w.Id : null;

    /// <summary>Predicts foreground probabilities for <paramref name="input"/> in the worker.</summary>
    /// <param name="input">The normalised input volume (any shape; copied into shared memory, not modified).</param>
    /// <param name="request">Model and sliding-window parameters.</param>
    /// <param name="progress">Receives the worker's per-batch progress.</param>
    /// <param name="cancellationToken">Cancels the request in the worker (it stops between batches).</param>
    /// <param name="skipScore">
    /// Optional per-voxel tile-skip score with the input's shape (e.g. the classical confidence): windows whose
    /// maximum score is below <see cref="UNetRequest.SkipThreshold"/> are not run. Requires a skip threshold; without
    /// it the worker scores windows by local standard deviation.
    /// </param>
    /// <exception cref="WorkerException">The worker reported an error (bad model path, bad options…).</exception>
    /// <exception cref="WorkerCrashedException">The worker died, hung, or could not start.</exception>
    public async Task<UNetResult> PredictAsync(
        Volume<float> input,
        UNetRequest request,
        IProgress<ProgressReport>? progress = null,
        CancellationToken cancellationToken = default,
        Volume<float>? skipScore = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_disposed, this);
        request.Validate();
        if (input.Shape.IsEmpty)
        {
            throw new ArgumentException($"Cannot predict an empty volume {input.Shape}.", nameof(input));
        }

        if (skipScore is not null && skipScore.Shape != input.Shape)
        {
            throw new ArgumentException($"Skip score shape {skipScore.Shape} differs from the input shape {input.Shape}.", nameof(skipScore));
        }

        if (skipScore is not null && request.SkipThreshold is null)
        {
            throw new ArgumentException("A skip score needs UNetRequest.SkipThreshold.", nameof(skipScore));
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            WorkerProcess worker = await EnsureWorkerAsync(cancellationToken).ConfigureAwait(false);
            using var file = SharedVolumeFile.Create(input.Shape, skipScore is not null);
            input.Span.CopyTo(file.Input.Span);
            skipScore?.Span.CopyTo(file.SkipScore!.Span);
            long id = ++_nextId;
            var message = new WorkerMessage
            {
                Type = WorkerProtocol.PredictType,
                Id = id,
                File = file.Path,
                Shape = [input.Shape.Z, input.Shape.Y, input.Shape.X],
                VoxelSize = [input.VoxelSize.Z, input.VoxelSize.Y, input.VoxelSize.X],
                HasSkipScore = skipScore is not null,
                Options = WorkerRequestOptions.From(request),
            };
            if (!worker.TrySend(message))
            {
                throw Crashed(worker, "could not be sent the request");
            }

            var (windows, skipped) = await AwaitOutcomeAsync(worker, id, progress, cancellationToken).ConfigureAwait(false);
            var output = new Volume<float>(input.Shape, input.VoxelSize);
            file.Output.Span.CopyTo(output.Span);
            return new UNetResult(output, windows, skipped, worker.Id);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops the worker (politely, then by force).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _gate.Wait();
        try
        {
            StopWorker(polite: true);
        }
        finally
        {
            _gate.Release();
            _gate.Dispose();
        }
    }

    private async Task<(int Windows, int Skipped)> AwaitOutcomeAsync(
        WorkerProcess worker, long id, IProgress<ProgressReport>? progress, CancellationToken cancellationToken)
    {
        bool cancelSent = false;
        TimeSpan grace = _options.Grace;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan lastMessage = TimeSpan.Zero, longestGap = TimeSpan.Zero;
        while (true)
        {
            if (cancellationToken.IsCancellationRequested && !cancelSent)
            {
                cancelSent = true;
                // The worker stops between batches. A batch can outlast the fixed grace (large windows, 8 flips, a
                // busy machine), and killing the worker then makes the next run pay its start-up and model load
                // again; so it gets twice the longest gap between its messages so far (a batch, with slack).
                grace = TimeSpan.FromTicks(Math.Min(Math.Max(_options.Grace.Ticks, 2 * longestGap.Ticks), _options.Silence.Ticks));
                worker.TrySend(new WorkerMessage { Type = WorkerProtocol.CancelType, Id = id });
            }

            // Before a cancel, wake on the caller's token to send it at once; after, only the grace period counts.
            var read = cancelSent
                ? await worker.ReadAsync(grace, CancellationToken.None).ConfigureAwait(false)
                : await worker.ReadAsync(_options.Silence, cancellationToken).ConfigureAwait(false);
            switch (read.Outcome)
            {
                case ReadOutcome.CallerCancelled:
                    continue;
                case ReadOutcome.Closed:
                    if (cancelSent)
                    {
                        StopWorker(polite: false);
                        throw new OperationCanceledException(cancellationToken);
                    }

                    throw Crashed(worker, "exited unexpectedly");
                case ReadOutcome.TimedOut when cancelSent:
                    // The worker did not stop in time; a kill is the only bounded way out.
                    StopWorker(polite: false);
                    throw new OperationCanceledException(cancellationToken);
                case ReadOutcome.TimedOut:
                    throw Crashed(worker, $"sent nothing for {_options.Silence.TotalSeconds:0} s and was stopped");
            }

            var m = read.Message!;
            if (m.Id != id)
            {
                continue; // a late message from an earlier, abandoned request
            }

            TimeSpan now = clock.Elapsed;
            longestGap = now - lastMessage > longestGap ? now - lastMessage : longestGap;
            lastMessage = now;

            switch (m.Type)
            {
                case WorkerProtocol.ProgressType:
                    progress?.Report(new ProgressReport(m.Stage ?? "unet", m.Fraction ?? 0));
                    break;
                case WorkerProtocol.DoneType:
                    return (m.Windows ?? 0, m.Skipped ?? 0);
                case WorkerProtocol.CancelledType:
                    throw new OperationCanceledException(cancellationToken);
                case WorkerProtocol.ErrorType:
                    throw new WorkerException(m.Message ?? "The EmMask worker failed without a message.", m.ErrorType);
            }
        }
    }

    private async Task<WorkerProcess> EnsureWorkerAsync(CancellationToken cancellationToken)
    {
        if (_worker is { HasExited: false } alive)
        {
            return alive;
        }

        StopWorker(polite: false);
        string path = WorkerLocator.Locate(_options.WorkerPath);
        _worker = await WorkerProcess.StartAsync(path, _options.Startup, cancellationToken).ConfigureAwait(false);
        return _worker;
    }

    private WorkerCrashedException Crashed(WorkerProcess worker, string what)
    {
        worker.Kill();
        string description = worker.Describe();
        StopWorker(polite: false);
        return new WorkerCrashedException($"The EmMask U-Net worker {what} ({description}). The next call starts a new worker.");
    }

    private void StopWorker(bool polite)
    {
        if (_worker is null)
        {
            return;
        }

        if (polite)
        {
            _worker.Shutdown(TimeSpan.FromSeconds(2));
        }
        else
        {
            _worker.Kill();
        }

        _worker.Dispose();
        _worker = null;
    }
}
