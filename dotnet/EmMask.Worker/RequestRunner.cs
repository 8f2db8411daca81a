using EmMask.Core.Progress;
using EmMask.Core.Volumes;
using EmMask.Remote;

namespace EmMask.Worker;

/// <summary>
/// One kind of request on a shared volume file: map the file, give its input the request's voxel size, run, and send
/// done, cancelled or error (one line) for it. The kinds (<see cref="PredictionRunner"/>, <see cref="FineTuneRunner"/>)
/// only say what to run and what their done message carries.
/// </summary>
public abstract class RequestRunner(ProtocolChannel channel)
{
    /// <summary>The request's name in error messages ("predict", "finetune").</summary>
    protected abstract string Kind { get; }

    /// <summary>Runs the request on <paramref name="input"/> (the file's input, with its voxel size) and returns its done message.</summary>
    protected abstract WorkerMessage Execute(WorkerMessage request, IVolume input, SharedVolumeFile file, IProgress<ProgressReport> progress, CancellationToken cancellationToken);

    /// <summary>Runs <paramref name="request"/> and sends done / cancelled / error for it.</summary>
    public void Run(WorkerMessage request, CancellationToken cancellationToken)
    {
        long id = request.Id;
        try
        {
            if (request.File is null || request.Shape is not { Length: 3 } s || request.Options is null)
            {
                throw new ArgumentException($"Malformed {Kind} request: file, shape and options are required.");
            }

            using var file = SharedVolumeFile.Open(request.File, new Shape3(s[0], s[1], s[2]), WireTypes.Parse(request.InputType));
            var input = file.Input;
            if (request.VoxelSize is { Length: 3 } v)
            {
                input.SetVoxelSize(new VoxelSize(v[0], v[1], v[2]));
            }

            var done = Execute(request, input, file, new Reporter(channel, id), cancellationToken);
            channel.Send(done with { Type = WorkerProtocol.DoneType, Id = id });
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            channel.Send(new WorkerMessage { Type = WorkerProtocol.CancelledType, Id = id });
        }
        catch (Exception e)
        {
            channel.Send(new WorkerMessage { Type = WorkerProtocol.ErrorType, Id = id, Message = e.Message.ReplaceLineEndings(" "), ErrorType = e.GetType().Name });
        }
    }

    /// <summary>Forwards progress synchronously (Progress&lt;T&gt; would post to the thread pool and reorder).</summary>
    private sealed class Reporter(ProtocolChannel channel, long id) : IProgress<ProgressReport>
    {
        public void Report(ProgressReport value) =>
            channel.Send(new WorkerMessage { Type = WorkerProtocol.ProgressType, Id = id, Stage = value.Stage, Fraction = value.Fraction });
    }
}
