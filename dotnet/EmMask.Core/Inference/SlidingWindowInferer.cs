using System.Numerics.Tensors;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.Core.Inference;

/// <summary>
/// Whole-volume prediction from a patch predictor, as MONAI <c>sliding_window_inference</c> with Gaussian blending:
/// the volume is tiled by <see cref="SlidingWindowPlan"/>, windows go to the predictor
/// <see cref="SlidingWindowOptions.BatchSize"/> at a time, and every voxel gets sum(w·p)/sum(w) over the windows
/// covering it. Optional tile skipping and working scale cut predictor work on large, mostly empty stacks. Thin and
/// strongly anisotropic stacks go section by section (<see cref="SlidingWindowOptions.Stack"/>,
/// <see cref="SectionwiseInference"/>).
/// </summary>
public static class SlidingWindowInferer
{
    /// <summary>Predicts probabilities for a whole volume.</summary>
    /// <param name="normalisedInput">The input, already normalised as the predictor expects; not modified.</param>
    /// <param name="predictor">Maps batches of windows to probabilities.</param>
    /// <param name="options">Tiling, blending, batching, scale and skipping parameters.</param>
    /// <param name="progress">Receives one report per batch (stage "window k/n").</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <param name="skipScore">
    /// Optional per-voxel score with the input's shape for tile skipping (e.g. a classical confidence map); used only
    /// when <see cref="SlidingWindowOptions.SkipThreshold"/> is set. When null, the local standard deviation is used.
    /// </param>
    /// <param name="destination">
    /// Optional volume with the input's shape to receive the probabilities (e.g. a shared-memory output), saving a
    /// full-size buffer and a copy; it becomes <see cref="SlidingWindowResult.Probabilities"/>. Must not overlap the input.
    /// </param>
    public static SlidingWindowResult Run(
        Volume<float> normalisedInput,
        IPatchPredictor predictor,
        SlidingWindowOptions options,
        IProgress<ProgressReport>? progress = null,
        CancellationToken cancellationToken = default,
        Volume<float>? skipScore = null,
        Volume<float>? destination = null)
    {
        ArgumentNullException.ThrowIfNull(normalisedInput);
        ArgumentNullException.ThrowIfNull(predictor);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (normalisedInput.Shape.IsEmpty)
        {
            throw new ArgumentException($"Cannot predict an empty volume {normalisedInput.Shape}.", nameof(normalisedInput));
        }

        if (skipScore is not null && skipScore.Shape != normalisedInput.Shape)
        {
            throw new ArgumentException($"Skip score shape {skipScore.Shape} differs from the input shape {normalisedInput.Shape}.", nameof(skipScore));
        }

        if (destination is not null && (destination.Shape != normalisedInput.Shape || destination.Span.Overlaps(normalisedInput.Span)))
        {
            throw new ArgumentException($"Destination must have the input's shape {normalisedInput.Shape} and its own memory.", nameof(destination));
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (options.UsesSections(normalisedInput.Shape, normalisedInput.VoxelSize))
        {
            return SectionwiseInference.Run(normalisedInput, predictor, options, progress, cancellationToken, skipScore, destination);
        }

        // A predictor that runs whole schedules (the U-Net on its device) gets the schedule and the flip sets; flips
        // wrapped around it (the section-wise fall-back's in-plane flips) are handed over with it.
        var (executor, flips) = predictor switch
        {
            IScheduleExecutor e => (e, FlipAveragingPredictor.FlipSets(options.TestTimeFlips)),
            FlipAveragingPredictor { Inner: IScheduleExecutor e } wrapped when options.TestTimeFlips == 1 => (e, wrapped.Flips.ToArray()),
            _ => ((IScheduleExecutor?)null, (bool[][]?)null),
        };
        if (executor is null && options.TestTimeFlips > 1)
        {
            predictor = new FlipAveragingPredictor(predictor, options.TestTimeFlips);
        }

        var schedule = SlidingWindowSchedule.Create(normalisedInput, options, skipScore);
        var (input, plan) = (schedule.Input, schedule.Plan);
        // (Memory<float>?) matters: a bare null would become an empty Memory through float[]'s conversion.
        Memory<float>? direct = schedule.Scale == 1 && destination is not null ? (Memory<float>?)destination.Memory : null;
        if (executor is not null)
        {
            var executed = executor.Execute(schedule, flips!, options.BatchSize, progress, cancellationToken, direct);
            if (executed.Shape != input.Shape)
            {
                throw new InvalidOperationException($"The schedule executor returned {executed.Shape}; expected {input.Shape}.");
            }

            return new SlidingWindowResult(schedule.ToInputScale(executed, normalisedInput, destination), plan.Count, schedule.Skipped.Length);
        }

        Memory<float> numerator = direct ?? new float[input.Span.Length];
        numerator.Span.Clear();
        var blender = new WindowBlender(input, plan, schedule.Weights, numerator);
        foreach (int w in schedule.Skipped)
        {
            // Pure resin: probability 0, but the weight still counts so neighbours blend towards 0.
            blender.AddWeightOnly(plan[w]);
        }

        int[] toRun = schedule.Run;
        int skipped = schedule.Skipped.Length;
        int windowLength = (int)plan.Roi.Length;
        var batch = new float[options.BatchSize * windowLength];
        var probabilities = new float[batch.Length];
        for (int first = 0; first < toRun.Length; first += options.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int n = Math.Min(options.BatchSize, toRun.Length - first);
            for (int b = 0; b < n; b++)
            {
                blender.Extract(plan[toRun[first + b]], batch.AsSpan(b * windowLength, windowLength));
            }

            Span<float> outputs = probabilities.AsSpan(0, n * windowLength);
            outputs.Clear();
            predictor.Predict(batch.AsSpan(0, n * windowLength), n, plan.Roi, outputs);
            for (int b = 0; b < n; b++)
            {
                blender.Accumulate(plan[toRun[first + b]], outputs.Slice(b * windowLength, windowLength));
            }

            schedule.ReportWindows(progress, skipped + first + n);
        }

        cancellationToken.ThrowIfCancellationRequested();
        Volume<float> blended = blender.Finish();
        if (toRun.Length == 0)
        {
            schedule.ReportWindows(progress, plan.Count);
        }

        return new SlidingWindowResult(schedule.ToInputScale(blended, normalisedInput, destination), plan.Count, skipped);
    }

    /// <summary>
    /// Maps windows (padded coordinates) onto the unpadded volume without materialising the padding: reads fill
    /// out-of-volume voxels with 0 (MONAI's constant padding), writes drop them.
    /// </summary>
    private sealed class WindowBlender(Volume<float> input, SlidingWindowPlan plan, float[] weights, Memory<float> numerator)
    {
        private readonly Memory<float> _numerator = numerator;
        private readonly float[] _denominator = new float[input.Span.Length];
        private readonly List<(int Volume, int Window, int Length)> _rows = [];

        public void Extract(Shape3 start, Span<float> window)
        {
            window.Clear();
            ReadOnlySpan<float> src = input.Span;
            foreach (var (v, w, n) in Rows(start))
            {
                src.Slice(v, n).CopyTo(window.Slice(w, n));
            }
        }

        public void Accumulate(Shape3 start, ReadOnlySpan<float> probabilities)
        {
            ReadOnlySpan<float> wt = weights;
            Span<float> num = _numerator.Span, den = _denominator;
            foreach (var (v, w, n) in Rows(start))
            {
                Span<float> numRow = num.Slice(v, n);
                TensorPrimitives.MultiplyAdd(wt.Slice(w, n), probabilities.Slice(w, n), numRow, numRow);
                Span<float> denRow = den.Slice(v, n);
                TensorPrimitives.Add(denRow, wt.Slice(w, n), denRow);
            }
        }

        public void AddWeightOnly(Shape3 start)
        {
            ReadOnlySpan<float> wt = weights;
            Span<float> den = _denominator;
            foreach (var (v, w, n) in Rows(start))
            {
                Span<float> denRow = den.Slice(v, n);
                TensorPrimitives.Add(denRow, wt.Slice(w, n), denRow);
            }
        }

        public Volume<float> Finish()
        {
            // Every voxel lies in at least one window, and weights are ≥ 1e-3, so the denominator is positive.
            TensorPrimitives.Divide(_numerator.Span, _denominator, _numerator.Span);
            return new Volume<float>(input.Shape, _numerator, input.VoxelSize);
        }

        private List<(int Volume, int Window, int Length)> Rows(Shape3 start)
        {
            SlidingWindowSchedule.Rows(plan, start, _rows);
            return _rows;
        }
    }
}
