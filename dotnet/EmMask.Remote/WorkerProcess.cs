using System.Diagnostics;
using System.Threading.Channels;

namespace EmMask.Remote;

/// <summary>
/// One running worker: the process, a reader task turning its stdout lines into messages, and the tail of its
/// stderr for crash reports. Not thread-safe for concurrent requests; <see cref="UNetWorkerClient"/> serialises.
/// </summary>
internal sealed class WorkerProcess : IDisposable
{
    private const int StderrLines = 20;
    private readonly Process _process;
    private readonly Channel<WorkerMessage> _messages = Channel.CreateUnbounded<WorkerMessage>(new() { SingleReader = true });
    private readonly Queue<string> _stderr = new();
    private readonly object _writeLock = new();

    private WorkerProcess(Process process)
    {
        _process = process;
        Id = process.Id;
        process.ErrorDataReceived += (_, e) => Remember(e.Data);
        process.BeginErrorReadLine();
        _ = Task.Run(ReadLoopAsync);
    }

    /// <summary>The worker's process id.</summary>
    public int Id { get; }

    /// <summary>True once the process has exited.</summary>
    public bool HasExited
    {
        get
        {
            try
            {
                return _process.HasExited;
            }
            catch (InvalidOperationException)
            {
                return true;
            }
        }
    }

    /// <summary>Starts the worker and waits for its ready message.</summary>
    public static async Task<WorkerProcess> StartAsync(string workerPath, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Process process;
        try
        {
            process = Process.Start(WorkerLocator.StartInfo(workerPath))
                ?? throw new WorkerCrashedException($"Could not start the EmMask worker '{workerPath}'.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new WorkerCrashedException($"Could not start the EmMask worker '{workerPath}': {e.Message}", e);
        }

        var worker = new WorkerProcess(process);
        try
        {
            while (true)
            {
                var message = await worker.ReadAsync(timeout, cancellationToken).ConfigureAwait(false);
                switch (message.Outcome)
                {
                    case ReadOutcome.Message when message.Message!.Type == WorkerProtocol.ReadyType:
                        return worker;
                    case ReadOutcome.Message:
                        continue;
                    case ReadOutcome.CallerCancelled:
                        throw new OperationCanceledException(cancellationToken);
                    case ReadOutcome.Closed:
                        throw new WorkerCrashedException($"The EmMask worker exited during start-up ({worker.Describe()}).");
                    default:
                        throw new WorkerCrashedException($"The EmMask worker did not start within {timeout.TotalSeconds:0} s ({worker.Describe()}).");
                }
            }
        }
        catch
        {
            worker.Kill();
            worker.Dispose();
            throw;
        }
    }

    /// <summary>Writes one message; false when the pipe is gone (the worker died).</summary>
    public bool TrySend(WorkerMessage message)
    {
        string line = WorkerProtocol.Serialize(message);
        lock (_writeLock)
        {
            try
            {
                _process.StandardInput.WriteLine(line);
                _process.StandardInput.Flush();
                return true;
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
            {
                return false;
            }
        }
    }

    /// <summary>The next message, or why there is none (stdout closed, timeout, or the caller's token).</summary>
    public async Task<ReadResult> ReadAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            return new ReadResult(ReadOutcome.Message, await _messages.Reader.ReadAsync(timer.Token).ConfigureAwait(false));
        }
        catch (ChannelClosedException)
        {
            return new ReadResult(ReadOutcome.Closed, null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new ReadResult(ReadOutcome.CallerCancelled, null);
        }
        catch (OperationCanceledException)
        {
            return new ReadResult(ReadOutcome.TimedOut, null);
        }
    }

    /// <summary>"pid N, exit code C, stderr: …" for error messages.</summary>
    public string Describe()
    {
        if (!HasExited)
        {
            _process.WaitForExit(2000);
        }

        string exit = HasExited ? $"exit code {SafeExitCode()}" : "still running";
        string tail;
        lock (_stderr)
        {
            tail = string.Join(" | ", _stderr.TakeLast(5));
        }

        return tail.Length == 0 ? $"pid {Id}, {exit}" : $"pid {Id}, {exit}, stderr: {tail}";
    }

    /// <summary>Kills the worker and its children; ignores a worker that is already gone.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already exited.
        }
    }

    /// <summary>Asks the worker to exit, then kills it if it has not within <paramref name="grace"/>.</summary>
    public void Shutdown(TimeSpan grace)
    {
        if (TrySend(new WorkerMessage { Type = WorkerProtocol.ShutdownType }))
        {
            try
            {
                _process.StandardInput.Close();
            }
            catch (IOException)
            {
            }

            if (_process.WaitForExit(grace))
            {
                return;
            }
        }

        Kill();
    }

    /// <inheritdoc/>
    public void Dispose() => _process.Dispose();

    private async Task ReadLoopAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (WorkerProtocol.TryParse(line) is { } message)
                {
                    _messages.Writer.TryWrite(message);
                }
                else
                {
                    Remember("stdout: " + line);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The pipe broke with the process; completing the channel reports it as closed.
        }
        finally
        {
            _messages.Writer.TryComplete();
        }
    }

    private void Remember(string? line)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            return;
        }

        lock (_stderr)
        {
            _stderr.Enqueue(line.Trim());
            while (_stderr.Count > StderrLines)
            {
                _stderr.Dequeue();
            }
        }
    }

    private string SafeExitCode()
    {
        try
        {
            return _process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException)
        {
            return "unknown";
        }
    }
}

/// <summary>Why <see cref="WorkerProcess.ReadAsync"/> returned.</summary>
internal enum ReadOutcome
{
    /// <summary>A message arrived.</summary>
    Message,

    /// <summary>The worker's stdout closed: it exited or crashed.</summary>
    Closed,

    /// <summary>Nothing arrived within the timeout.</summary>
    TimedOut,

    /// <summary>The caller's token fired first.</summary>
    CallerCancelled,
}

/// <summary>A read outcome and, for <see cref="ReadOutcome.Message"/>, the message.</summary>
internal readonly record struct ReadResult(ReadOutcome Outcome, WorkerMessage? Message);
