using EmMask.Core.Inference;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;
using EmMask.Learning.Inference;
using EmMask.Remote;

namespace EmMask.Worker;

/// <summary>Runs one predict request: map the shared file, run the U-Net method (<see cref="UNetMasker"/>) whole, report.</summary>
public sealed class PredictionRunner(IPredictorProvider predictors, ProtocolChannel channel)
{
    private readonly UNetMasker masker = new(predictors);

    /// <summary>Runs <paramref name="request"/> and sends done / cancelled / error for it.</summary>
    public void Run(WorkerMessage request, CancellationToken cancellationToken)
    {
        long id = request.Id;
        try
        {
            if (request.File is null || request.Shape is not { Length: 3 } s || request.Options is null)
            {
                throw new ArgumentException("Malformed predict request: file, shape and options are required.");
            }

            var options = UNetMaskOptions.FromJson(request.Options);
            var shape = new Shape3(s[0], s[1], s[2]);
            using var file = SharedVolumeFile.Open(request.File, shape, WireTypes.Parse(request.InputType));
            var input = file.Input;
            if (request.VoxelSize is { Length: 3 } v)
            {
                WorkerVolumes.SetVoxelSize(input, new VoxelSize(v[0], v[1], v[2]));
            }

            var (result, report) = masker.Run(input, options, new Reporter(channel, id), cancellationToken, file.Output);
            channel.Send(new WorkerMessage
            {
                Type = WorkerProtocol.DoneType, Id = id, Windows = report.Windows, Skipped = report.Skipped, Scale = report.Scale, Model = report.Model,
                Warnings = [.. result.Warnings], Notes = [.. result.Notes ?? []],
            });
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            channel.Send(new WorkerMessage { Type = WorkerProtocol.CancelledType, Id = id });
        }
        catch (Exception e)
        {
            channel.Send(new WorkerMessage { Type = WorkerProtocol.ErrorType, Id = id, Message = OneLine(e.Message), ErrorType = e.GetType().Name });
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");

    /// <summary>Forwards progress synchronously (Progress&lt;T&gt; would post to the thread pool and reorder).</summary>
    private sealed class Reporter(ProtocolChannel channel, long id) : IProgress<ProgressReport>
    {
        public void Report(ProgressReport value) =>
            channel.Send(new WorkerMessage { Type = WorkerProtocol.ProgressType, Id = id, Stage = value.Stage, Fraction = value.Fraction });
    }
}
