using System.Diagnostics;
using System.Reflection;
using EmMask.Core.Inference;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;
using EmMask.Host.Worker;

namespace EmMask.Host.Tests.Worker;

public class UNetWorkerClientTests
{
    private static readonly Shape3 Roi = new(16, 16, 16);

    [Fact]
    public async Task Round_trip_matches_in_process_inference()
    {
        var input = Random(new Shape3(20, 37, 45), 1);
        input.VoxelSize = new VoxelSize(30, 4, 4);
        var request = new UNetRequest("builtin:identity", Roi, 0.5, 3);
        using var client = NewClient();

        var result = await client.PredictAsync(input, request);
        var expected = SlidingWindowInferer.Run(input, new IdentityPredictor(), request.ToSlidingWindowOptions());

        Assert.Equal(input.Shape, result.Probabilities.Shape);
        Assert.Equal(input.VoxelSize, result.Probabilities.VoxelSize);
        Assert.Equal(expected.Windows, result.Windows);
        Assert.Equal(expected.Probabilities.Span.ToArray(), result.Probabilities.Span.ToArray());
        Assert.NotEqual(new float[input.Span.Length], result.Probabilities.Span.ToArray());
    }

    [Fact]
    public async Task Threshold_model_and_skip_count_come_back()
    {
        var input = new Volume<float>(new Shape3(16, 16, 64));
        input.Span.Fill(-1);
        input[3, 3, 3] = 5;
        using var client = NewClient();

        var result = await client.PredictAsync(input, new UNetRequest("builtin:threshold", Roi, 0, 2, SkipThreshold: 0.01f));

        Assert.Equal(4, result.Windows);
        Assert.Equal(3, result.Skipped);
        Assert.Equal(1f, result.Probabilities[3, 3, 3]);
        Assert.Equal(0f, result.Probabilities[3, 3, 40]);
    }

    [Fact]
    public async Task Progress_arrives_per_batch()
    {
        var input = Random(new Shape3(16, 32, 64), 2);
        var reports = new List<ProgressReport>();
        using var client = NewClient();

        var result = await client.PredictAsync(input, new UNetRequest("builtin:identity", Roi, 0, 2), new SyncProgress(reports));

        Assert.Equal(8, result.Windows);
        Assert.Equal(4, reports.Count);
        Assert.Equal("window 8/8", reports[^1].Stage);
        Assert.Equal(1.0, reports[^1].Fraction);
    }

    [Fact]
    public async Task Worker_is_reused_across_calls_and_survives_errors()
    {
        var input = Random(new Shape3(8, 8, 8), 3);
        using var client = NewClient();

        var first = await client.PredictAsync(input, new UNetRequest("builtin:identity", Roi));
        var bad = await Assert.ThrowsAsync<WorkerException>(() => client.PredictAsync(input, new UNetRequest("/no/such/model.pt", Roi)));
        var failing = await Assert.ThrowsAsync<WorkerException>(() => client.PredictAsync(input, new UNetRequest("builtin:fail", Roi)));
        var second = await client.PredictAsync(input, new UNetRequest("builtin:identity", Roi));

        Assert.Equal(first.WorkerProcessId, second.WorkerProcessId);
        Assert.Equal(first.WorkerProcessId, client.WorkerProcessId);
        Assert.Contains("Model file not found", bad.Message);
        Assert.Contains("/no/such/model.pt", bad.Message);
        Assert.Equal("FileNotFoundException", bad.RemoteType);
        Assert.Equal("builtin:fail always fails.", failing.Message);
    }

    [Fact]
    public async Task Cancel_stops_the_worker_within_a_second_and_keeps_it()
    {
        var input = Random(new Shape3(32, 64, 64), 4); // 64 windows x 200 ms
        using var client = NewClient();
        using var cts = new CancellationTokenSource();
        var cancelledAt = new Stopwatch();
        var progress = new SyncProgress([], _ =>
        {
            cancelledAt.Start();
            cts.Cancel();
        });

        int pid = (await client.PredictAsync(new Volume<float>(new Shape3(1, 1, 1)), new UNetRequest("builtin:identity", Roi))).WorkerProcessId;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            client.PredictAsync(input, new UNetRequest("builtin:slow", Roi, 0, 1), progress, cts.Token));
        cancelledAt.Stop();

        Assert.InRange(cancelledAt.ElapsedMilliseconds, 0, 1000);
        Assert.Equal(pid, client.WorkerProcessId); // cancelled cleanly, not killed
        var after = await client.PredictAsync(input, new UNetRequest("builtin:identity", Roi));
        Assert.Equal(pid, after.WorkerProcessId);
    }

    [Fact]
    public async Task Killed_worker_fails_the_call_and_the_next_call_starts_a_new_one()
    {
        var input = Random(new Shape3(32, 64, 64), 5);
        using var client = NewClient();
        int? killed = null;
        var progress = new SyncProgress([], _ =>
        {
            if (killed is null && client.WorkerProcessId is { } pid)
            {
                killed = pid;
                Process.GetProcessById(pid).Kill();
            }
        });

        var watch = Stopwatch.StartNew();
        var crash = await Assert.ThrowsAsync<WorkerCrashedException>(() =>
            client.PredictAsync(input, new UNetRequest("builtin:slow", Roi, 0, 1), progress));
        watch.Stop();

        Assert.NotNull(killed);
        Assert.Contains($"pid {killed}", crash.Message);
        Assert.InRange(watch.ElapsedMilliseconds, 0, 10_000);
        var next = await client.PredictAsync(input, new UNetRequest("builtin:identity", Roi));
        Assert.NotEqual(killed, next.WorkerProcessId);
        Assert.Equal(input[5, 6, 7], next.Probabilities[5, 6, 7], 5);
    }

    [Fact]
    public async Task Shared_memory_file_is_removed_after_each_call()
    {
        string dir = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        string pattern = $"emmask-{Environment.ProcessId}-*.f32";
        using var client = NewClient();
        await client.PredictAsync(Random(new Shape3(4, 4, 4), 6), new UNetRequest("builtin:identity", Roi));
        await Assert.ThrowsAsync<WorkerException>(() => client.PredictAsync(Random(new Shape3(4, 4, 4), 6), new UNetRequest("builtin:fail", Roi)));

        // Other tests in this class may run concurrently in this process, so only require that ours are gone: none
        // may be left once every client here is idle; check again after a short wait if one is in flight.
        for (int i = 0; i < 50 && Directory.GetFiles(dir, pattern).Length > 0; i++)
        {
            await Task.Delay(100);
        }

        Assert.Empty(Directory.GetFiles(dir, pattern));
    }

    [Fact]
    public async Task Bad_requests_fail_before_any_worker_starts()
    {
        using var client = NewClient();
        var input = new Volume<float>(new Shape3(4, 4, 4));

        Assert.Equal("Device", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.PredictAsync(input, new UNetRequest("builtin:identity", Roi, Device: "tpu")))).ParamName);
        Assert.Equal("Overlap", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.PredictAsync(input, new UNetRequest("builtin:identity", Roi, Overlap: 1)))).ParamName);
        await Assert.ThrowsAsync<ArgumentException>(() => client.PredictAsync(input, new UNetRequest(" ", Roi)));
        await Assert.ThrowsAsync<ArgumentException>(() => client.PredictAsync(new Volume<float>(new Shape3(0, 4, 4)), new UNetRequest("builtin:identity", Roi)));
        Assert.Null(client.WorkerProcessId);
    }

    [Fact]
    public async Task Missing_worker_gives_a_clear_error()
    {
        using var client = new UNetWorkerClient(new UNetWorkerClientOptions(WorkerPath: "/no/such/EmMask.Worker.dll"));
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => client.PredictAsync(new Volume<float>(new Shape3(2, 2, 2)), new UNetRequest("builtin:identity", Roi)));
        Assert.Contains("/no/such/EmMask.Worker.dll", e.Message);
    }

    internal static UNetWorkerClient NewClient() =>
        new(new UNetWorkerClientOptions(WorkerPath: WorkerPath(), StartupTimeout: TimeSpan.FromSeconds(60), SilenceTimeout: TimeSpan.FromSeconds(60)));

    private static string WorkerPath() =>
        typeof(UNetWorkerClientTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "EmMaskWorkerPath").Value!;

    private static Volume<float> Random(Shape3 shape, int seed)
    {
        var v = new Volume<float>(shape);
        var rng = new Random(seed);
        foreach (ref float f in v.Span)
        {
            f = (float)rng.NextDouble();
        }

        return v;
    }

    private sealed class SyncProgress(List<ProgressReport> reports, Action<ProgressReport>? onReport = null) : IProgress<ProgressReport>
    {
        public void Report(ProgressReport value)
        {
            reports.Add(value);
            onReport?.Invoke(value);
        }
    }

    private sealed class IdentityPredictor : IPatchPredictor
    {
        public void Predict(ReadOnlySpan<float> batch, int batchSize, Shape3 patch, Span<float> probabilities) => batch.CopyTo(probabilities);
    }
}
