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
        if (StackModes.UseSections(options.Stack, normalisedInput.Shape, normalisedInput.VoxelSize, options.PadMultiple))
        {
            return SectionwiseInference.Run(normalisedInput, predictor, options, progress, cancellationToken, skipScore, destination);
        }

        if (options.TestTimeFlips > 1)
        {
            predictor = new FlipAveragingPredictor(predictor, options.TestTimeFlips);
        }

        int f = options.Scale;
        Volume<float> input = f == 1 ? normalisedInput : VolumeResampling.MeanDownsample(normalisedInput, f);
        Volume<float>? score = null;
        if (options.SkipThreshold is not null)
        {
            score = skipScore is null
                ? LocalStandardDeviation.Compute(input, options.SkipRadius)
                : f == 1 ? skipScore : VolumeResampling.MaxDownsample(skipScore, f);
        }

        var plan = SlidingWindowPlan.Create(input.Shape, options.RoiSize, options.Overlap, options.PadMultiple, options.ClampRoi);
        var weights = new GaussianImportanceMap(plan.Roi, options.SigmaScale).Weights;
        Memory<float> numerator = f == 1 && destination is not null ? destination.Memory : new float[input.Span.Length];
        numerator.Span.Clear();
        var blender = new WindowBlender(input, plan, weights.Span.ToArray(), numerator);

        var toRun = new List<int>(plan.Count);
        int skipped = 0;
        for (int w = 0; w < plan.Count; w++)
        {
            if (score is not null && blender.WindowMax(score, plan[w]) < options.SkipThreshold!.Value)
            {
                // Pure resin: probability 0, but the weight still counts so neighbours blend towards 0.
                blender.AddWeightOnly(plan[w]);
                skipped++;
            }
            else
            {
                toRun.Add(w);
            }
        }

        int windowLength = (int)plan.Roi.Length;
        var batch = new float[options.BatchSize * windowLength];
        var probabilities = new float[batch.Length];
        for (int first = 0; first < toRun.Count; first += options.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int n = Math.Min(options.BatchSize, toRun.Count - first);
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

            int done = skipped + first + n;
            progress?.Report(new ProgressReport($"window {done}/{plan.Count}", (double)done / plan.Count));
        }

        cancellationToken.ThrowIfCancellationRequested();
        Volume<float> blended = blender.Finish();
        if (toRun.Count == 0)
        {
            progress?.Report(new ProgressReport($"window {plan.Count}/{plan.Count}", 1.0));
        }

        Volume<float> result = f == 1
            ? destination ?? blended
            : VolumeResampling.TrilinearUpsample(blended, destination ?? new Volume<float>(normalisedInput.Shape), f);
        result.VoxelSize = normalisedInput.VoxelSize;
        return new SlidingWindowResult(result, plan.Count, skipped);
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

        public float WindowMax(Volume<float> score, Shape3 start)
        {
            float max = float.NegativeInfinity;
            ReadOnlySpan<float> s = score.Span;
            foreach (var (v, _, n) in Rows(start))
            {
                max = Math.Max(max, TensorPrimitives.Max(s.Slice(v, n)));
            }

            return max;
        }

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

        /// <summary>The x runs (volume offset, window offset, length) where the window overlaps the volume.</summary>
        private List<(int Volume, int Window, int Length)> Rows(Shape3 start)
        {
            _rows.Clear();
            Shape3 shape = input.Shape, roi = plan.Roi, pad = plan.PadBefore;
            int x0 = start.X - pad.X;
            int xa = Math.Max(0, x0), xb = Math.Min(shape.X, x0 + roi.X);
            if (xb <= xa)
            {
                return _rows;
            }

            for (int wz = 0; wz < roi.Z; wz++)
            {
                int z = start.Z - pad.Z + wz;
                if ((uint)z >= (uint)shape.Z)
                {
                    continue;
                }

                for (int wy = 0; wy < roi.Y; wy++)
                {
                    int y = start.Y - pad.Y + wy;
                    if ((uint)y < (uint)shape.Y)
                    {
                        _rows.Add(((int)shape.Index(z, y, xa), (int)roi.Index(wz, wy, xa - x0), xb - xa));
                    }
                }
            }

            return _rows;
        }
    }
}
