namespace EmMask.Learning.Tests.Native;

/// <summary>
/// A background thread that collects garbage and runs finalizers continuously until disposed: beside TorchSharp calls it
/// exposes a temporary <c>Scalar</c> finalized while libtorch reads it (EmMask.Learning.Native.Scalars).
/// </summary>
internal sealed class ContinuousCollector : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;

    public ContinuousCollector()
    {
        _thread = new Thread(() =>
        {
            while (!_stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }) { IsBackground = true };
        _thread.Start();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        _stop.Dispose();
    }
}
