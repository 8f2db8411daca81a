using EmMask.Core.Inference;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;
using EmMask.Learning.Native;
using static TorchSharp.torch;

namespace EmMask.Learning.Inference;

/// <summary>
/// The sliding window with the volume and the blending accumulators on the network's device: each z-slab of the
/// (zero-padded) volume is uploaded once, windows are cut from it on the device and run in batches with their
/// test-time flips, and w·p and w are added into device accumulators. A volume that fits one slab is divided on the
/// device and downloaded once; larger ones are downloaded per slab and summed on the host. Plan, weights and skipping
/// come from <see cref="SlidingWindowSchedule"/>, the same as the host executor's.
/// </summary>
/// <remarks>
/// A slab holds whole rows of windows (all windows with one z start) and at most <see cref="SlabVoxels"/> padded voxels
/// (three float tensors of that size: volume, numerator, denominator), at least one row. When the device runs out of
/// memory the slab budget is halved and the slab started again (down to one row, then the batch is halved), so a volume
/// larger than the device's memory runs in slabs instead of failing.
/// </remarks>
internal sealed class DeviceSlidingWindow(UNetPatchPredictor network, long slabVoxels, int batchSize)
{
    /// <summary>The padded-voxel budget of one slab.</summary>
    public long SlabVoxels { get; private set; } = slabVoxels;

    /// <summary>Windows per network call (halved when a single row does not fit).</summary>
    public int BatchSize { get; private set; } = batchSize;

    /// <summary>How many slabs the last run used.</summary>
    public int Slabs { get; private set; }

    /// <summary>Blends the schedule; see <see cref="IScheduleExecutor.Execute"/>.</summary>
    public Volume<float> Run(SlidingWindowSchedule schedule, bool[][] flips, IProgress<ProgressReport>? progress, CancellationToken ct, Memory<float>? destination)
    {
        var input = schedule.Input;
        var plan = schedule.Plan;
        long length = input.Shape.Length;
        Memory<float> result = destination ?? new float[length];
        if (result.Length != length)
        {
            throw new ArgumentException($"Destination has {result.Length} values; the schedule's volume has {length}.", nameof(destination));
        }

        var rows = WindowRows(schedule);
        int zRows = plan.ZStarts.Count;
        int done = schedule.Skipped.Length;
        float[]? denominator = null; // host sums, only when there is more than one slab
        Slabs = 0;
        int first = 0;
        while (first < zRows)
        {
            int last = LastRowThatFits(plan, first);
            bool whole = first == 0 && last == zRows - 1 && denominator is null;
            try
            {
                int ran = RunSlab(schedule, rows, first, last, flips, whole, result, ref denominator, progress, done, ct);
                done += ran;
                Slabs++;
                first = last + 1;
            }
            catch (Exception e) when (IsOutOfMemory(e))
            {
                GC.Collect(); // release the slab's tensors before the retry
                if (last > first)
                {
                    // Halve what the slab really held (a small volume's slab is far below the budget).
                    SlabVoxels = Math.Max(1, Math.Min(SlabVoxels, SlabPaddedVoxels(plan, first, last)) / 2);
                }
                else if (BatchSize > 1)
                {
                    BatchSize /= 2;
                }
                else
                {
                    throw new InsufficientMemoryException(
                        $"The {network.Device} device ran out of memory with one window row ({SlabPaddedVoxels(plan, first, first)} voxels) and batch 1; use a smaller --roi or the CPU.", e);
                }
            }
        }

        if (denominator is not null)
        {
            System.Numerics.Tensors.TensorPrimitives.Divide(result.Span, denominator, result.Span);
        }

        return new Volume<float>(input.Shape, result, input.VoxelSize);
    }

    private int RunSlab(
        SlidingWindowSchedule schedule,
        List<int>[] rows,
        int first,
        int last,
        bool[][] flips,
        bool whole,
        Memory<float> result,
        ref float[]? hostDenominator,
        IProgress<ProgressReport>? progress,
        int done,
        CancellationToken ct)
    {
        var plan = schedule.Plan;
        Shape3 shape = schedule.Input.Shape, roi = plan.Roi, padded = plan.PaddedShape, pad = plan.PadBefore;
        int z0 = plan.ZStarts[first], z1 = plan.ZStarts[last] + roi.Z; // padded z range of the slab
        int slabDepth = z1 - z0;
        int vz0 = Math.Max(0, z0 - pad.Z), vz1 = Math.Min(shape.Z, z1 - pad.Z); // volume z range inside it
        int plane = shape.Y * shape.X;
        var device = network.TorchDevice;
        int ran = 0;

        // Tests simulate a small device: the allocation "fails" as CUDA's would.
        if (network.SimulatedDeviceVoxels is long capacity && (long)slabDepth * padded.Y * padded.X * (3 + BatchSize) > capacity)
        {
            throw new OutOfMemoryException($"simulated: CUDA out of memory (slab of {slabDepth} planes, batch {BatchSize})");
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var volume = zeros([slabDepth, padded.Y, padded.X], ScalarType.Float32, device);
        if (vz1 > vz0)
        {
            var part = tensor(schedule.Input.Span.Slice(vz0 * plane, (vz1 - vz0) * plane).ToArray(), [vz1 - vz0, shape.Y, shape.X]);
            volume.narrow(0, vz0 + pad.Z - z0, vz1 - vz0).narrow(1, pad.Y, shape.Y).narrow(2, pad.X, shape.X).copy_(part);
        }

        var weights = tensor(schedule.Weights, [roi.Z, roi.Y, roi.X]).to(device);
        var numerator = zeros([slabDepth, padded.Y, padded.X], ScalarType.Float32, device);
        var denominator = zeros([slabDepth, padded.Y, padded.X], ScalarType.Float32, device);
        Tensor Region(Tensor t, Shape3 start) => t.narrow(0, start.Z - z0, roi.Z).narrow(1, start.Y, roi.Y).narrow(2, start.X, roi.X);

        // Skipped windows first, as the host executor adds them: weight only.
        int perRow = plan.YStarts.Count * plan.XStarts.Count;
        foreach (int w in schedule.Skipped)
        {
            if (w / perRow >= first && w / perRow <= last)
            {
                Region(denominator, plan[w]).add_(weights, Scalars.One);
            }
        }

        var toRun = new List<int>();
        for (int r = first; r <= last; r++)
        {
            toRun.AddRange(rows[r]);
        }

        for (int b = 0; b < toRun.Count; b += BatchSize)
        {
            ct.ThrowIfCancellationRequested();
            int n = Math.Min(BatchSize, toRun.Count - b);
            using var batchScope = NewDisposeScope();
            var windows = stack(Enumerable.Range(b, n).Select(i => Region(volume, plan[toRun[i]])).ToArray(), 0).unsqueeze(1);
            var p = network.ForegroundOnDevice(windows, flips);
            for (int i = 0; i < n; i++)
            {
                var start = plan[toRun[b + i]];
                Region(numerator, start).add_(p[i].mul(weights), Scalars.One);
                Region(denominator, start).add_(weights, Scalars.One);
            }

            ran += n;
            schedule.ReportWindows(progress, done + ran);
        }

        ct.ThrowIfCancellationRequested();
        if (vz1 <= vz0)
        {
            return ran;
        }

        // Only the slab's voxels inside the volume leave the device.
        Tensor Crop(Tensor t) => t.narrow(0, vz0 + pad.Z - z0, vz1 - vz0).narrow(1, pad.Y, shape.Y).narrow(2, pad.X, shape.X);
        var target = result.Span.Slice(vz0 * plane, (vz1 - vz0) * plane);
        if (whole)
        {
            Crop(numerator).div(Crop(denominator)).cpu().contiguous().data<float>().CopyTo(target);
            return ran;
        }

        hostDenominator ??= InitialiseSums(result);
        var num = new float[target.Length];
        var den = new float[target.Length];
        Crop(numerator).cpu().contiguous().data<float>().CopyTo(num);
        Crop(denominator).cpu().contiguous().data<float>().CopyTo(den);
        System.Numerics.Tensors.TensorPrimitives.Add(target, num, target);
        var hostDen = hostDenominator.AsSpan(vz0 * plane, target.Length);
        System.Numerics.Tensors.TensorPrimitives.Add(hostDen, den, hostDen);
        return ran;
    }

    private static float[] InitialiseSums(Memory<float> result)
    {
        result.Span.Clear();
        return new float[result.Length];
    }

    /// <summary>The windows to run, per z row of the plan (plan order within a row).</summary>
    private static List<int>[] WindowRows(SlidingWindowSchedule schedule)
    {
        var plan = schedule.Plan;
        var rows = new List<int>[plan.ZStarts.Count];
        for (int r = 0; r < rows.Length; r++)
        {
            rows[r] = [];
        }

        int perRow = plan.YStarts.Count * plan.XStarts.Count;
        foreach (int w in schedule.Run)
        {
            rows[w / perRow].Add(w);
        }

        return rows;
    }

    private int LastRowThatFits(SlidingWindowPlan plan, int first)
    {
        int last = first;
        while (last + 1 < plan.ZStarts.Count && SlabPaddedVoxels(plan, first, last + 1) <= SlabVoxels)
        {
            last++;
        }

        return last;
    }

    private static long SlabPaddedVoxels(SlidingWindowPlan plan, int first, int last) =>
        (long)(plan.ZStarts[last] + plan.Roi.Z - plan.ZStarts[first]) * plan.PaddedShape.Y * plan.PaddedShape.X;

    private static bool IsOutOfMemory(Exception e) =>
        e is OutOfMemoryException || e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase);
}
