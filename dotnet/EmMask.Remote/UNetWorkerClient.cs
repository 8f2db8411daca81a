using EmMask.Core.Inference;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.Remote;

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

    /// <summary>Runs the U-Net method on <paramref name="input"/> in the worker (envelope, sliding window, gate: all there).</summary>
    /// <param name="input">The raw uint8, uint16 or float32 volume (copied into shared memory in its own type, not modified).</param>
    /// <param name="options">The U-Net options (<see cref="UNetMaskOptions"/>); the worker resolves the model.</param>
    /// <param name="progress">Receives the worker's progress.</param>
    /// <param name="cancellationToken">Cancels the request in the worker (it stops between batches).</param>
    /// <exception cref="WorkerException">The worker reported an error (bad model path, bad options…).</exception>
    /// <exception cref="WorkerCrashedException">The worker died, hung, or could not start.</exception>
    public async Task<UNetResult> PredictAsync(
        IVolume input,
        UNetMaskOptions options,
        IProgress<ProgressReport>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(options);
        ObjectDisposedException.ThrowIf(_disposed, this);
        options.Validate();
        if (input.Shape.IsEmpty)
        {
            throw new ArgumentException($"Cannot predict an empty volume {input.Shape}.", nameof(input));
        }

        return await RequestAsync(
            input,
            prepare: null,
            (file, id) => new WorkerMessage
            {
                Type = WorkerProtocol.PredictType,
                Id = id,
                File = file.Path,
                Shape = [input.Shape.Z, input.Shape.Y, input.Shape.X],
                VoxelSize = [input.VoxelSize.Z, input.VoxelSize.Y, input.VoxelSize.X],
                InputType = WireTypes.Name(input.VoxelType),
                Options = options.ToJson(),
            },
            (file, done, worker) =>
            {
                var output = new Volume<float>(input.Shape, input.VoxelSize);
                file.Output.Span.CopyTo(output.Span);
                return new UNetResult(output, done.Windows ?? 0, done.Skipped ?? 0, done.Scale ?? 1, done.Model ?? string.Empty, done.Warnings ?? [], done.Notes ?? [], worker.Id);
            },
            progress,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Fine-tunes the U-Net in the worker from proofread labels (<c>ProofreadFineTuning</c>) and writes
    /// <paramref name="target"/>; nothing is written when it fails or is cancelled.
    /// </summary>
    /// <param name="image">The raw uint8, uint16 or float32 volume, with its voxel size.</param>
    /// <param name="labels">Same shape: 1 tissue, 0 non-brain, <see cref="FineTuneOptions.NotProofread"/> not checked.</param>
    /// <param name="target">The model file to write (.safetensors), a path the worker can reach.</param>
    /// <param name="options">The fine-tuning options.</param>
    /// <param name="progress">Receives the worker's progress (one report per step).</param>
    /// <param name="cancellationToken">Cancels the request in the worker (it stops between steps).</param>
    /// <returns>The written model's path, the working scale it was trained at, and the worker's note.</returns>
    /// <exception cref="WorkerException">The worker reported an error (no proofread voxel, bad model, bad target…).</exception>
    /// <exception cref="WorkerCrashedException">The worker died, hung, or could not start.</exception>
    public async Task<(string Model, int Scale, IReadOnlyList<string> Notes)> FineTuneAsync(
        IVolume image,
        Volume<byte> labels,
        string target,
        FineTuneOptions options,
        IProgress<ProgressReport>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentException.ThrowIfNullOrWhiteSpace(target);
        ArgumentNullException.ThrowIfNull(options);
        ObjectDisposedException.ThrowIf(_disposed, this);
        options.Validate();
        if (image.Shape.IsEmpty)
        {
            throw new ArgumentException($"Cannot fine-tune on an empty volume {image.Shape}.", nameof(image));
        }

        FineTuneOptions.CheckLabelShape(image.Shape, labels.Shape);

        string path = Path.GetFullPath(target);
        return await RequestAsync(
            image,
            file => FineTuneLabels.ToWire(labels, file.Output),
            (file, id) => new WorkerMessage
            {
                Type = WorkerProtocol.FineTuneType,
                Id = id,
                File = file.Path,
                Shape = [image.Shape.Z, image.Shape.Y, image.Shape.X],
                VoxelSize = [image.VoxelSize.Z, image.VoxelSize.Y, image.VoxelSize.X],
                InputType = WireTypes.Name(image.VoxelType),
                Options = options.ToJson(),
                Target = path,
            },
            (_, done, _) => (done.Model ?? path, done.Scale ?? 1, (IReadOnlyList<string>)(done.Notes ?? [])),
            progress,
            cancellationToken).ConfigureAwait(false);
    }

    // One request: the shared file with the input (and whatever prepare adds), the message, the outcome, the result.
    private async Task<T> RequestAsync<T>(
        IVolume input,
        Action<SharedVolumeFile>? prepare,
        Func<SharedVolumeFile, long, WorkerMessage> request,
        Func<SharedVolumeFile, WorkerMessage, WorkerProcess, T> result,
        IProgress<ProgressReport>? progress,
        CancellationToken cancellationToken)
    {
        _ = WireTypes.Name(input.VoxelType); // unsupported types fail before the worker starts
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            WorkerProcess worker = await EnsureWorkerAsync(cancellationToken).ConfigureAwait(false);
            using var file = SharedVolumeFile.Create(input.Shape, input.VoxelType);
            CopyInput(input, file.Input);
            prepare?.Invoke(file);
            long id = ++_nextId;
            if (!worker.TrySend(request(file, id)))
            {
                throw Crashed(worker, "could not be sent the request");
            }

            var done = await AwaitOutcomeAsync(worker, id, progress, cancellationToken).ConfigureAwait(false);
            return result(file, done, worker);
        }
        finally
        {
            _gate.Release();
        }
    }

    private static void CopyInput(IVolume input, IVolume target)
    {
        switch (input, target)
        {
            case (Volume<byte> a, Volume<byte> b):
                a.Span.CopyTo(b.Span);
                break;
            case (Volume<ushort> a, Volume<ushort> b):
                a.Span.CopyTo(b.Span);
                break;
            case (Volume<float> a, Volume<float> b):
                a.Span.CopyTo(b.Span);
                break;
            default:
                throw new NotSupportedException($"Cannot share a {input.VoxelType} volume.");
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

    private async Task<WorkerMessage> AwaitOutcomeAsync(
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
                    return m;
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
