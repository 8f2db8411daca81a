using EmMask.Core.Inference;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;
using EmMask.Learning.Inference;
using EmMask.Remote;

namespace EmMask.Worker;

/// <summary>Runs one predict request: the U-Net method (<see cref="UNetMasker"/>) whole on the mapped input, into the file's output.</summary>
public sealed class PredictionRunner(IPredictorProvider predictors, ProtocolChannel channel) : RequestRunner(channel)
{
    private readonly UNetMasker masker = new(predictors);

    /// <inheritdoc/>
    protected override string Kind => "predict";

    /// <inheritdoc/>
    protected override WorkerMessage Execute(WorkerMessage request, IVolume input, SharedVolumeFile file, IProgress<ProgressReport> progress, CancellationToken cancellationToken)
    {
        var options = UNetMaskOptions.FromJson(request.Options!);
        var (result, report) = masker.Run(input, options, progress, cancellationToken, file.Output);
        return new WorkerMessage
        {
            Type = WorkerProtocol.DoneType, Windows = report.Windows, Skipped = report.Skipped, Scale = report.Scale, Model = report.Model,
            Warnings = [.. result.Warnings], Notes = [.. result.Notes ?? []],
        };
    }
}
