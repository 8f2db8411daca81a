using EmMask.Core.Inference;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;
using EmMask.Host.Worker;
using EmMask.Learning.Preprocessing;

namespace EmMask.Worker;

/// <summary>Runs one predict request: map the shared file, slide the window, write the output, report.</summary>
public sealed class PredictionRunner(IPredictorProvider predictors, ProtocolChannel channel)
{
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

            UNetRequest options = request.Options.ToRequest().Validate();
            var shape = new Shape3(s[0], s[1], s[2]);
            var model = predictors.Get(options.ModelPath, options.Device);
            using var file = SharedVolumeFile.Open(request.File, shape, request.HasSkipScore == true);
            Volume<float> input = file.Input;
            if (request.VoxelSize is { Length: 3 } v)
            {
                input.VoxelSize = new VoxelSize(v[0], v[1], v[2]);
            }

            if (options.NormalizeInput)
            {
                // In place: the shared input is the client's private copy.
                IntensityNormalization.Normalize(input.Span, input.Span);
            }

            var progress = new Reporter(channel, id);
            var windowOptions = options.ToSlidingWindowOptions() with { PadMultiple = model.SizeDivisor };
            var result = SlidingWindowInferer.Run(input, model.Predictor, windowOptions, progress, cancellationToken, file.SkipScore, file.Output);
            channel.Send(new WorkerMessage { Type = WorkerProtocol.DoneType, Id = id, Windows = result.Windows, Skipped = result.Skipped });
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
