using EmMask.Core.Inference;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;
using EmMask.Learning.Training;
using EmMask.Remote;

namespace EmMask.Worker;

/// <summary>
/// Runs one finetune request: map the shared file (the image, then the proofread labels as float32), fine-tune
/// (<see cref="ProofreadFineTuning"/>), report. <paramref name="unavailable"/> is the reason libtorch could not be
/// loaded, given as every request's error.
/// </summary>
public sealed class FineTuneRunner(ProtocolChannel channel, Exception? unavailable = null)
{
    /// <summary>Runs <paramref name="request"/> and sends done / cancelled / error for it.</summary>
    public void Run(WorkerMessage request, CancellationToken cancellationToken)
    {
        long id = request.Id;
        try
        {
            if (unavailable is not null)
            {
                throw new InvalidOperationException(unavailable.Message, unavailable);
            }

            if (request.File is null || request.Shape is not { Length: 3 } s || request.Options is null || request.Target is null)
            {
                throw new ArgumentException("Malformed finetune request: file, shape, options and target are required.");
            }

            var options = FineTuneOptions.FromJson(request.Options);
            var shape = new Shape3(s[0], s[1], s[2]);
            using var file = SharedVolumeFile.Open(request.File, shape, WireTypes.Parse(request.InputType));
            var image = file.Input;
            if (request.VoxelSize is { Length: 3 } v)
            {
                WorkerVolumes.SetVoxelSize(image, new VoxelSize(v[0], v[1], v[2]));
            }

            var labels = FineTuneLabels.FromWire(file.Output);
            var result = ProofreadFineTuning.Run(image, labels, request.Target, options, new Reporter(channel, id), cancellationToken);
            channel.Send(new WorkerMessage
            {
                Type = WorkerProtocol.DoneType, Id = id, Model = result.ModelPath, Scale = result.Scale,
                Notes = [FormattableString.Invariant($"Fine-tuned for {result.Steps} steps at working scale {result.Scale} on {result.ProofreadVoxels} proofread voxels in {result.Elapsed.TotalSeconds:F0} s; log: {result.LogPath}")],
                Warnings = [],
            });
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

    private sealed class Reporter(ProtocolChannel channel, long id) : IProgress<ProgressReport>
    {
        public void Report(ProgressReport value) =>
            channel.Send(new WorkerMessage { Type = WorkerProtocol.ProgressType, Id = id, Stage = value.Stage, Fraction = value.Fraction });
    }
}
