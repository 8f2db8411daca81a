using System.Runtime;

namespace EmMask.Learning.Native;

/// <summary>
/// Keeps allocation-triggered garbage collections out of a block of TorchSharp calls (a training step). TorchSharp 0.107
/// turns numbers into temporary <c>Scalar</c> objects and passes their native handle without keeping the object alive,
/// so a collection during the native call can finalize the scalar while libtorch reads it (upstream
/// dotnet/TorchSharp#1434, open; <see cref="Scalars"/>). Our own network and loss hold their scalars; TorchSharp's
/// Adam makes its own (<c>add_(grad, alpha: 1 - beta1)</c>), which only this region covers. In the worker, compiled
/// fully optimised from the start, fine-tuning failed this way in 3 of 6 runs. Inside the region no collection runs
/// unless its budget is spent or someone calls <see cref="GC.Collect()"/>; between regions the finalizer only meets
/// scalars that are no longer in use. Not used for inference: a region per batch cost 20–40 % of a U-Net run (a
/// blocking collection at each start), and inference makes no scalars of its own beyond <see cref="Scalars"/>.
/// </summary>
public readonly struct NoCollectionDuring : IDisposable
{
    // Managed allocations one training step may make without a collection (patches are allocated once, outside).
    private const long Budget = 64L << 20;

    private readonly bool _started;

    private NoCollectionDuring(bool started) => _started = started;

    /// <summary>Starts a region (a collection may run now, before it); best effort: without it the block still runs.</summary>
    public static NoCollectionDuring Start()
    {
        try
        {
            return new NoCollectionDuring(GCSettings.LatencyMode != GCLatencyMode.NoGCRegion && GC.TryStartNoGCRegion(Budget));
        }
        catch (InvalidOperationException)
        {
            return default;
        }
        catch (ArgumentOutOfRangeException)
        {
            return default;
        }
    }

    /// <summary>Ends the region if this started it and it still holds (a block that allocated more than the budget ended it).</summary>
    public void Dispose()
    {
        if (_started && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
        {
            GC.EndNoGCRegion();
        }
    }
}
