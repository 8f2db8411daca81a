using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.Core.Inference;

/// <summary>
/// A predictor that runs a whole <see cref="SlidingWindowSchedule"/> itself, with the volume and the blending
/// accumulators resident where its network runs (a GPU), instead of receiving window batches through host memory.
/// <see cref="SlidingWindowInferer"/> hands the schedule to it when the predictor (or the predictor inside a
/// <see cref="FlipAveragingPredictor"/>) implements this; the plan, weights, skipping and the working scale stay the
/// inferer's, so both executors give the same blend.
/// </summary>
public interface IScheduleExecutor
{
    /// <summary>
    /// Blends the schedule: every voxel of <see cref="SlidingWindowSchedule.Input"/> gets sum(w·p)/sum(w) over the
    /// windows covering it, the skipped windows adding only their weight (p = 0).
    /// </summary>
    /// <param name="schedule">The windows, weights and the volume at the working scale.</param>
    /// <param name="flips">Test-time flip sets (per set: flip z, y, x); probabilities are averaged over them.</param>
    /// <param name="batchSize">Windows per network call.</param>
    /// <param name="progress">One report per batch, as <see cref="SlidingWindowSchedule.ReportWindows"/>.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <param name="destination">Optional buffer with the input's length for the result.</param>
    /// <returns>Probabilities with the shape of <see cref="SlidingWindowSchedule.Input"/>.</returns>
    Volume<float> Execute(SlidingWindowSchedule schedule, bool[][] flips, int batchSize, IProgress<ProgressReport>? progress, CancellationToken cancellationToken, Memory<float>? destination);
}
