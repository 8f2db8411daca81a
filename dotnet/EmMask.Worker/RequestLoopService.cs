using EmMask.Remote;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EmMask.Worker;

/// <summary>
/// Reads requests from stdin. A prediction runs on its own task so the loop keeps reading and can deliver a
/// cancel while it runs; one prediction at a time. End of input (the client closed the pipe or died) stops the host.
/// </summary>
public sealed class RequestLoopService(
    ProtocolChannel channel, PredictionRunner runner, IHostApplicationLifetime lifetime, ILogger<RequestLoopService> logger)
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

                if (message.Type == WorkerProtocol.PredictType && !current.IsCompleted)
                {
                    // The runner sends its final message just before its task ends, so a client that waited for it
                    // can be a moment early: give the previous task a bounded chance to finish.
                    await Task.WhenAny(current, Task.Delay(TimeSpan.FromSeconds(5), stoppingToken));
                }

                switch (message.Type)
                {
                    case WorkerProtocol.PredictType when !current.IsCompleted:
                        channel.Send(new WorkerMessage
                        {
                            Type = WorkerProtocol.ErrorType, Id = message.Id, ErrorType = "InvalidOperationException",
                            Message = $"The worker is busy with request {currentId}; send one request at a time.",
                        });
                        break;
                    case WorkerProtocol.PredictType:
                        currentCts?.Dispose();
                        currentCts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                        currentId = message.Id;
                        var token = currentCts.Token;
                        current = Task.Factory.StartNew(() => runner.Run(message, token), token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
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
