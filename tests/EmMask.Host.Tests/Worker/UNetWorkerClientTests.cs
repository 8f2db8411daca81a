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
        var request = new UNetRequest("builtin:identity", Roi, 0.5, 3, NormalizeInput: false);
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

        var result = await client.PredictAsync(input, new UNetRequest("builtin:threshold", Roi, 0, 2, SkipThreshold: 0.01f, NormalizeInput: false));

        Assert.Equal(4, result.Windows);
        Assert.Equal(3, result.Skipped);
        Assert.Equal(1f, result.Probabilities[3, 3, 3]);
        Assert.Equal(0f, result.Probabilities[3, 3, 40]);
    }

    [Fact]
    public async Task Worker_normalises_input_unless_told_not_to()
    {
        var input = Random(new Shape3(16, 16, 16), 7);
        foreach (ref float v in input.Span)
        {
            v = 1000 + (100 * v);
        }

        using var client = NewClient();
        var normalised = await client.PredictAsync(input, new UNetRequest("builtin:identity", Roi));
        var raw = await client.PredictAsync(input, new UNetRequest("builtin:identity", Roi, NormalizeInput: false));

        // Percentiles 1..99 map to 0..1, so a uniform 1000..1100 input lands in about [-0.01, 1.01].
        Assert.InRange(normalised.Probabilities.Span.ToArray().Min(), -0.02f, 0.0f);
        Assert.InRange(normalised.Probabilities.Span.ToArray().Max(), 1.0f, 1.02f);
        Assert.Equal(input[1, 2, 3], raw.Probabilities[1, 2, 3], 2);
    }

    [Fact]
    public async Task Real_unet_file_runs_in_the_worker_and_matches_the_pytorch_reference()
    {
        // small_res2: MONAI UNet(3D, channels 4-8-16, strides 2-2, 2 residual units) with random weights; the fixture
        // holds two 16^3 inputs and PyTorch's logits. Stacked along z with roi 16 and no overlap, each window is one
        // fixture sample, so the blended output must equal sigmoid(logits).
        string dir = LearningFixtures();
        float[] x = ReadFloat32Npy(Path.Combine(dir, "small_res2_input.npy"));
        float[] y = ReadFloat32Npy(Path.Combine(dir, "small_res2_output.npy"));
        var input = new Volume<float>(new Shape3(32, 16, 16), x);
        using var client = NewClient();

        var request = new UNetRequest(Path.Combine(dir, "small_res2.pt"), new Shape3(16, 16, 16), 0, 2, NormalizeInput: false);
        var result = await client.PredictAsync(input, request);
        var again = await client.PredictAsync(input, request);

        Assert.Equal(2, result.Windows);
        float maxError = 0;
        for (int i = 0; i < input.Span.Length; i++)
        {
            float expected = 1f / (1f + MathF.Exp(-y[i]));
            maxError = Math.Max(maxError, Math.Abs(expected - result.Probabilities.Span[i]));
        }

        Assert.InRange(maxError, 0, 1e-4f);
        Assert.Equal(result.Probabilities.Span.ToArray(), again.Probabilities.Span.ToArray());
        Assert.Equal(result.WorkerProcessId, again.WorkerProcessId);
    }

    [Fact]
    public async Task Precomputed_skip_score_crosses_to_the_worker()
    {
        var input = Random(new Shape3(16, 16, 64), 10);
        var score = new Volume<float>(input.Shape);
        score[3, 3, 3] = 1; // only the first of four windows is tissue
        using var client = NewClient();
        var request = new UNetRequest("builtin:identity", Roi, 0, 4, SkipThreshold: 0.5f, NormalizeInput: false);

        var result = await client.PredictAsync(input, request, skipScore: score);

        Assert.Equal(4, result.Windows);
        Assert.Equal(3, result.Skipped);
        Assert.Equal(input[1, 1, 1], result.Probabilities[1, 1, 1], 5);
        Assert.Equal(0f, result.Probabilities[1, 1, 40]);
        Assert.Throws<ArgumentException>(() => client.PredictAsync(input, request with { SkipThreshold = null }, skipScore: score).GetAwaiter().GetResult());
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
        var next = await client.PredictAsync(input, new UNetRequest("builtin:identity", Roi, NormalizeInput: false));
        Assert.NotEqual(killed, next.WorkerProcessId);
        Assert.Equal(input[5, 6, 7], next.Probabilities[5, 6, 7], 5);
    }

    [Fact]
    public async Task Hung_worker_times_out_and_is_replaced()
    {
        var input = Random(new Shape3(8, 8, 8), 8);
        using var client = new UNetWorkerClient(new UNetWorkerClientOptions(WorkerPath(), SilenceTimeout: TimeSpan.FromSeconds(1)));

        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<WorkerCrashedException>(() => client.PredictAsync(input, new UNetRequest("builtin:hang", Roi)));
        watch.Stop();

        Assert.Contains("sent nothing for 1 s", e.Message);
        Assert.InRange(watch.ElapsedMilliseconds, 900, 10_000);
        Assert.Null(client.WorkerProcessId);
        var next = await client.PredictAsync(input, new UNetRequest("builtin:identity", Roi, NormalizeInput: false));
        Assert.Equal(input[1, 1, 1], next.Probabilities[1, 1, 1], 5);
    }

    [Fact]
    public async Task Cancel_of_a_wedged_worker_kills_it_after_the_grace_period()
    {
        var input = Random(new Shape3(8, 8, 8), 9);
        using var client = new UNetWorkerClient(new UNetWorkerClientOptions(WorkerPath(), CancelGrace: TimeSpan.FromMilliseconds(500)));
        await client.PredictAsync(input, new UNetRequest("builtin:identity", Roi));
        int pid = client.WorkerProcessId!.Value;
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var watch = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.PredictAsync(input, new UNetRequest("builtin:hang", Roi), null, cts.Token));
        watch.Stop();

        Assert.InRange(watch.ElapsedMilliseconds, 700, 5_000);
        Assert.Null(client.WorkerProcessId);
        Assert.Throws<ArgumentException>(() => Process.GetProcessById(pid));
    }

    [Fact]
    public async Task Cancel_during_a_batch_longer_than_the_grace_keeps_the_worker()
    {
        // Batches of 1.2 s against a 0.5 s grace: the worker gets twice its longest gap between messages to stop,
        // so it is not killed (and the next run does not pay its start-up again).
        var input = Random(new Shape3(16, 16, 64), 10); // 4 windows of 16^3, one per batch
        using var client = new UNetWorkerClient(new UNetWorkerClientOptions(WorkerPath(), CancelGrace: TimeSpan.FromMilliseconds(500)));
        int pid = (await client.PredictAsync(new Volume<float>(new Shape3(1, 1, 1)), new UNetRequest("builtin:identity", Roi))).WorkerProcessId;
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress([], r =>
        {
            if (r.Fraction > 0)
            {
                cts.Cancel(); // after the first batch: the second has just started
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            client.PredictAsync(input, new UNetRequest("builtin:slow:1200", Roi, 0, 1), progress, cts.Token));

        Assert.Equal(pid, client.WorkerProcessId);
        var after = await client.PredictAsync(input, new UNetRequest("builtin:identity", Roi));
        Assert.Equal(pid, after.WorkerProcessId);
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
    public void Files_of_dead_clients_are_swept()
    {
        string dir = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        using var dead = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        dead.WaitForExit();
        string stale = Path.Combine(dir, $"emmask-{dead.Id}-{Guid.NewGuid():N}.f32");
        string live = Path.Combine(dir, $"emmask-{Environment.ProcessId}-{Guid.NewGuid():N}.f32");
        File.WriteAllBytes(stale, [1]);
        File.WriteAllBytes(live, [1]);
        try
        {
            SharedVolumeFile.SweepStale();

            Assert.False(File.Exists(stale));
            Assert.True(File.Exists(live));
        }
        finally
        {
            File.Delete(stale);
            File.Delete(live);
        }
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

    private static string LearningFixtures([System.Runtime.CompilerServices.CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", "..", "EmMask.Learning.Tests", "Fixtures", "MonaiUNet"));

    /// <summary>The data of a little-endian float32 C-order .npy of any rank (the 5D fixtures NpyFormat rejects).</summary>
    private static float[] ReadFloat32Npy(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        // Magic (6 bytes), version (2), header length (uint16 in v1, uint32 in v2+), header, data.
        int start = bytes[6] == 1 ? 10 : 12;
        int headerLength = start + (bytes[6] == 1 ? BitConverter.ToUInt16(bytes, 8) : BitConverter.ToInt32(bytes, 8));
        string header = System.Text.Encoding.ASCII.GetString(bytes, start, headerLength - start);
        Assert.Contains("'<f4'", header);
        Assert.Contains("'fortran_order': False", header);
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes.AsSpan(headerLength)).ToArray();
    }

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
