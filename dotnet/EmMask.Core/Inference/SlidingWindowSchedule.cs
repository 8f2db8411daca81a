using System.Numerics.Tensors;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.Core.Inference;

/// <summary>
/// What a sliding-window run will do, decided once for every executor (<see cref="SlidingWindowInferer"/> on the host,
/// the U-Net's device-resident window in EmMask.Learning): the volume at the working scale, the window plan, the
/// Gaussian weights, and which windows run through the network and which are skipped (their weight still counts, so
/// neighbours blend towards 0).
/// </summary>
public sealed class SlidingWindowSchedule
{
    private SlidingWindowSchedule(Volume<float> input, SlidingWindowPlan plan, float[] weights, int[] run, int[] skipped, int scale)
    {
        Input = input;
        Plan = plan;
        Weights = weights;
        Run = run;
        Skipped = skipped;
        Scale = scale;
    }

    /// <summary>The normalised volume at the working scale (the input itself at scale 1).</summary>
    public Volume<float> Input { get; }

    /// <summary>The windows over <see cref="Input"/>.</summary>
    public SlidingWindowPlan Plan { get; }

    /// <summary>Gaussian importance weights over one window (C order).</summary>
    public float[] Weights { get; }

    /// <summary>Indices into <see cref="Plan"/> of the windows the network runs on, in plan order.</summary>
    public int[] Run { get; }

    /// <summary>Indices of the windows left out by tile skipping, in plan order.</summary>
    public int[] Skipped { get; }

    /// <summary>The working scale.</summary>
    public int Scale { get; }

    /// <summary>Plans a volume-mode run (the caller has already chosen volume over sections).</summary>
    /// <param name="normalisedInput">The normalised input at full resolution.</param>
    /// <param name="options">Validated window options.</param>
    /// <param name="skipScore">Per-voxel skip score with the input's shape, or null for the local standard deviation.</param>
    public static SlidingWindowSchedule Create(Volume<float> normalisedInput, SlidingWindowOptions options, Volume<float>? skipScore)
    {
        ArgumentNullException.ThrowIfNull(normalisedInput);
        ArgumentNullException.ThrowIfNull(options);
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
        var weights = new GaussianImportanceMap(plan.Roi, options.SigmaScale).Weights.Span.ToArray();
        var run = new List<int>(plan.Count);
        var skipped = new List<int>();
        for (int w = 0; w < plan.Count; w++)
        {
            (score is not null && WindowMax(plan, score, plan[w]) < options.SkipThreshold!.Value ? skipped : run).Add(w);
        }

        return new SlidingWindowSchedule(input, plan, weights, run.ToArray(), skipped.ToArray(), f);
    }

    /// <summary>Reports "window k/n" after <paramref name="done"/> windows (skipped windows count as done first).</summary>
    public void ReportWindows(IProgress<ProgressReport>? progress, int done) =>
        progress?.Report(new ProgressReport($"window {done}/{Plan.Count}", (double)done / Plan.Count));

    /// <summary>Brings blended probabilities at the working scale back to the input's shape (trilinear above scale 1).</summary>
    /// <param name="blended">Probabilities over <see cref="Input"/>.</param>
    /// <param name="normalisedInput">The full-resolution input (its shape and voxel size).</param>
    /// <param name="destination">Optional output with the input's shape.</param>
    public Volume<float> ToInputScale(Volume<float> blended, Volume<float> normalisedInput, Volume<float>? destination)
    {
        ArgumentNullException.ThrowIfNull(blended);
        ArgumentNullException.ThrowIfNull(normalisedInput);
        Volume<float> result;
        if (Scale == 1)
        {
            if (destination is not null && !destination.Span.Overlaps(blended.Span))
            {
                blended.Span.CopyTo(destination.Span);
            }

            result = destination ?? blended;
        }
        else
        {
            result = VolumeResampling.TrilinearUpsample(blended, destination ?? new Volume<float>(normalisedInput.Shape), Scale);
        }

        result.VoxelSize = normalisedInput.VoxelSize;
        return result;
    }

    /// <summary>
    /// The x runs (volume offset, window offset, length) where the window at <paramref name="start"/> (padded coordinates)
    /// overlaps the volume; padding voxels (MONAI's constant 0) have none.
    /// </summary>
    public static void Rows(SlidingWindowPlan plan, Shape3 start, List<(int Volume, int Window, int Length)> rows)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(rows);
        rows.Clear();
        Shape3 shape = plan.VolumeShape, roi = plan.Roi, pad = plan.PadBefore;
        int x0 = start.X - pad.X;
        int xa = Math.Max(0, x0), xb = Math.Min(shape.X, x0 + roi.X);
        if (xb <= xa)
        {
            return;
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
                    rows.Add(((int)shape.Index(z, y, xa), (int)roi.Index(wz, wy, xa - x0), xb - xa));
                }
            }
        }
    }

    private static float WindowMax(SlidingWindowPlan plan, Volume<float> score, Shape3 start)
    {
        var rows = new List<(int Volume, int Window, int Length)>();
        Rows(plan, start, rows);
        float max = float.NegativeInfinity;
        ReadOnlySpan<float> s = score.Span;
        foreach (var (v, _, n) in rows)
        {
            max = Math.Max(max, TensorPrimitives.Max(s.Slice(v, n)));
        }

        return max;
    }
}
