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

    /// <summary>
    /// How long one race test runs beside the collector at most (it also stops after its own count of steps). The races
    /// it guards against showed within 1-40 s (see each test); the suite runs these tests alone, so their time is the
    /// CI's wall time.
    /// </summary>
    public static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(30);

    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

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

    /// <summary>Whether a race test should go on to step <paramref name="step"/> of at most <paramref name="steps"/>: within both the count and <see cref="TimeLimit"/>.</summary>
    public bool Continues(int step, int steps) => step < steps && (step == 0 || _clock.Elapsed < TimeLimit);

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        _stop.Dispose();
    }
}
