using EmMask.Remote;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EmMask.Worker;

/// <summary>
/// Reads requests from stdin. A prediction or a fine-tuning runs on its own task so the loop keeps reading and can
/// deliver a cancel while it runs; one request at a time. End of input (the client closed the pipe or died) stops the host.
/// </summary>
public sealed class RequestLoopService(
    ProtocolChannel channel, PredictionRunner runner, FineTuneRunner fineTuner, IHostApplicationLifetime lifetime, ILogger<RequestLoopService> logger)
    : BackgroundService
{
    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Task current = Task.CompletedTask;
        long currentId = 0;
        CancellationTokenSource? currentCts = null;
        channel.Send(new WorkerMessage { Type = WorkerProtocol.ReadyType, Pid = Environment.ProcessId });
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                WorkerMessage? message = await channel.ReadAsync(stoppingToken);
                if (message is null || message.Type == WorkerProtocol.ShutdownType)
                {
                    break;
                }

                bool work = message.Type is WorkerProtocol.PredictType or WorkerProtocol.FineTuneType;
                if (work && !current.IsCompleted)
                {
                    // The runner sends its final message just before its task ends, so a client that waited for it
                    // can be a moment early: give the previous task a bounded chance to finish.
                    await Task.WhenAny(current, Task.Delay(TimeSpan.FromSeconds(5), stoppingToken));
                }

                switch (message.Type)
                {
                    case WorkerProtocol.PredictType or WorkerProtocol.FineTuneType when !current.IsCompleted:
                        channel.Send(new WorkerMessage
                        {
                            Type = WorkerProtocol.ErrorType, Id = message.Id, ErrorType = "InvalidOperationException",
                            Message = $"The worker is busy with request {currentId}; send one request at a time.",
                        });
                        break;
                    case WorkerProtocol.PredictType or WorkerProtocol.FineTuneType:
                        currentCts?.Dispose();
                        currentCts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                        currentId = message.Id;
                        var token = currentCts.Token;
                        Action<WorkerMessage, CancellationToken> run = message.Type == WorkerProtocol.PredictType ? runner.Run : fineTuner.Run;
                        current = Task.Factory.StartNew(() => run(message, token), token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
                        break;
                    case WorkerProtocol.CancelType when message.Id == currentId:
                        currentCts?.Cancel();
                        break;
                    default:
                        logger.LogDebug("Ignoring {Type} message for request {Id}.", message.Type, message.Id);
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            currentCts?.Cancel();
            await Task.WhenAny(current, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None));
            currentCts?.Dispose();
            lifetime.StopApplication();
        }
    }
}
