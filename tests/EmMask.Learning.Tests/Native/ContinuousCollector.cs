namespace EmMask.Learning.Tests.Native;

/// <summary>
/// A background thread that collects garbage and runs finalizers continuously until disposed: beside TorchSharp calls it
/// exposes a temporary <c>Scalar</c> finalized while libtorch reads it (EmMask.Learning.Native.Scalars).
/// </summary>
internal sealed class ContinuousCollector : IDisposable
{
    /// <summary>
    /// The xunit collection of the classes that use it: run alone, not beside the assembly's other classes, so that two
    /// collecting threads never share the machine's cores at once (on 2 cores they starved a parallel CLI test in CI).
    /// </summary>
    public const string Collection = "continuous collector";

    /// <summary>
    /// The trait value ("Category") of those classes: `tests/run_all.sh` runs them in a `dotnet test` call of their own
    /// after the others, since `dotnet test` runs assemblies side by side and their collecting threads starved a CLI
    /// test in another assembly past its 120 s guard (fresh-clone CI at a40222c and at 5825ff0).
    /// </summary>
    public const string Category = "CollectorRace";

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
