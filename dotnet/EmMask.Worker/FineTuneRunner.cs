using EmMask.Core.Inference;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;
using EmMask.Learning.Training;
using EmMask.Remote;

namespace EmMask.Worker;

/// <summary>
/// Runs one finetune request: the file holds the image, then the proofread labels as float32
/// (<see cref="FineTuneLabels"/>); fine-tunes (<see cref="ProofreadFineTuning"/>) and writes the request's target.
/// <paramref name="unavailable"/> is the reason libtorch could not be loaded, given as every request's error.
/// </summary>
public sealed class FineTuneRunner(ProtocolChannel channel, Exception? unavailable = null) : RequestRunner(channel)
{
    /// <inheritdoc/>
    protected override string Kind => "finetune";

    /// <inheritdoc/>
    protected override WorkerMessage Execute(WorkerMessage request, IVolume input, SharedVolumeFile file, IProgress<ProgressReport> progress, CancellationToken cancellationToken)
    {
        if (unavailable is not null)
        {
            throw new InvalidOperationException(unavailable.Message, unavailable);
        }

        if (request.Target is null)
        {
            throw new ArgumentException("Malformed finetune request: a target model file is required.");
        }

        var options = FineTuneOptions.FromJson(request.Options!);
        var result = ProofreadFineTuning.Run(input, FineTuneLabels.FromWire(file.Output), request.Target, options, progress, cancellationToken);
        return new WorkerMessage
        {
            Type = WorkerProtocol.DoneType, Model = result.ModelPath, Scale = result.Scale, Warnings = [],
            Notes = [FormattableString.Invariant($"Fine-tuned for {result.Steps} steps at working scale {result.Scale} on {result.ProofreadVoxels} proofread voxels in {result.Elapsed.TotalSeconds:F0} s; log: {result.LogPath}")],
        };
    }
}
