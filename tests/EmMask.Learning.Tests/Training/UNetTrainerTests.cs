using EmMask.Core.Volumes;
using EmMask.Learning.Models;
using EmMask.Learning.Training;

namespace EmMask.Learning.Tests.Training;

public class UNetTrainerTests
{
    private static readonly UNetConfig Tiny = new(3, 1, 1, [4, 8, 16], [2, 2], 1, 3, 3, 0);

    private static TrainingOptions Options(string dir, int steps, double lr = 1e-2) => new()
    {
        Volumes = [SyntheticVolumes.Ball(24, 1), SyntheticVolumes.Ball(24, 2)],
        ValidationVolumes = [SyntheticVolumes.Ball(20, 3)],
        OutputDirectory = dir,
        Model = Tiny,
        Patch = new Shape3(16, 16, 16),
        BatchSize = 2,
        Steps = steps,
        LearningRate = lr,
        Seed = 42,
        ValidateEvery = 10,
        Threads = 1,
        Augmentation = AugmentationOptions.None,
    };

    private static List<TrainingProgress> Run(TrainingOptions o, CancellationToken ct = default)
    {
        var reports = new List<TrainingProgress>();
        UNetTrainer.Train(o, new SyncProgress<TrainingProgress>(reports.Add), ct);
        return reports;
    }

    [Fact]
    public void SeededCpuSmokeLossFalls()
    {
        var dir = Directory.CreateTempSubdirectory("emmask-train-");
        try
        {
            var r = Run(Options(dir.FullName, 40));
            Assert.Equal(40, r.Count);
            double first = r.Take(5).Average(p => p.Loss), last = r.TakeLast(5).Average(p => p.Loss);
            Assert.True(last < 0.7 * first, $"loss {first:F3} -> {last:F3}");
            Assert.True(File.Exists(Path.Combine(dir.FullName, "best.safetensors")));
            Assert.True(File.Exists(Path.Combine(dir.FullName, "training_log.json")));
            Assert.NotNull(r[^1].ValidationDice);
            Assert.True(r.All(p => p.StepsPerSecond > 0));
            var (m, cfg) = ModelStore.Load(Path.Combine(dir.FullName, "last.safetensors"));
            m.Dispose();
            Assert.Equal(Tiny, cfg);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void SameSeedRepeatsAndResumeContinuesTheSameRun()
    {
        var a = Directory.CreateTempSubdirectory("emmask-train-");
        var b = Directory.CreateTempSubdirectory("emmask-train-");
        try
        {
            var straight = Run(Options(a.FullName, 6) with { ValidateEvery = 3, Augmentation = AugmentationOptions.Default });
            var firstHalf = Run(Options(b.FullName, 3) with { ValidateEvery = 3, Augmentation = AugmentationOptions.Default });
            Assert.Equal(straight.Take(3).Select(p => p.Loss), firstHalf.Select(p => p.Loss)); // same seed, same losses
            var secondHalf = Run(Options(b.FullName, 6) with { ValidateEvery = 3, Augmentation = AugmentationOptions.Default, Resume = true });
            Assert.Equal(3, secondHalf.Count);
            Assert.Equal(4, secondHalf[0].Step);
            Assert.Equal(straight.Skip(3).Select(p => p.Loss), secondHalf.Select(p => p.Loss));
        }
        finally { a.Delete(true); b.Delete(true); }
    }

    [Fact]
    public void CancellationSavesAResumableCheckpoint()
    {
        var dir = Directory.CreateTempSubdirectory("emmask-train-");
        try
        {
            using var cts = new CancellationTokenSource();
            var seen = new List<int>();
            var progress = new SyncProgress<TrainingProgress>(p => { seen.Add(p.Step); if (p.Step == 2) cts.Cancel(); });
            Assert.ThrowsAny<OperationCanceledException>(() => UNetTrainer.Train(Options(dir.FullName, 50), progress, cts.Token));
            Assert.Equal([1, 2], seen);
            Assert.True(File.Exists(Path.Combine(dir.FullName, "last.state.json")));
            var resumed = Run(Options(dir.FullName, 4) with { Resume = true });
            Assert.Equal([3, 4], resumed.Select(p => p.Step));
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void FineTuningWithLabelledRegionStartsFromCheckpoint()
    {
        var dir = Directory.CreateTempSubdirectory("emmask-train-");
        try
        {
            using (var net = new MonaiUNet(Tiny)) ModelStore.Save(net, Path.Combine(dir.FullName, "init.safetensors"));
            var vol = SyntheticVolumes.Ball(24, 5);
            var region = vol.Labels.Like<byte>();
            for (int z = 8; z < 16; z++) for (int y = 0; y < 24; y++) for (int x = 0; x < 24; x++) region[z, y, x] = 1;
            var o = Options(Path.Combine(dir.FullName, "out"), 2) with
            {
                Volumes = [vol with { LabelledRegion = region }],
                InitialCheckpoint = Path.Combine(dir.FullName, "init.safetensors"),
                Model = UNetConfig.Default, // ignored: the checkpoint's architecture wins
            };
            var r = Run(o);
            Assert.Equal(2, r.Count);
            Assert.True(r.All(p => double.IsFinite(p.Loss)));
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void InvalidOptionsNameTheParameter()
    {
        var o = Options("/tmp/unused-emmask", 10);
        Assert.Equal("Steps", Assert.Throws<ArgumentOutOfRangeException>(() => UNetTrainer.Train(o with { Steps = 0 })).ParamName);
        Assert.Equal("BatchSize", Assert.Throws<ArgumentOutOfRangeException>(() => UNetTrainer.Train(o with { BatchSize = 0 })).ParamName);
        Assert.Equal("LearningRate", Assert.Throws<ArgumentOutOfRangeException>(() => UNetTrainer.Train(o with { LearningRate = -1 })).ParamName);
        Assert.Equal("FocusWeight", Assert.Throws<ArgumentOutOfRangeException>(() => UNetTrainer.Train(o with { FocusWeight = -1 })).ParamName);
        Assert.Equal("FocusWeight", Assert.Throws<ArgumentOutOfRangeException>(() => UNetTrainer.Train(o with { FocusWeight = double.NaN })).ParamName);
        var badFocus = SyntheticVolumes.Ball(24, 1) with { Focus = new Volume<byte>(new Shape3(2, 2, 2)) };
        Assert.Equal("Volumes", Assert.Throws<ArgumentException>(() => UNetTrainer.Train(o with { Volumes = [badFocus] })).ParamName);
        var bad = SyntheticVolumes.Ball(24, 1) with { Labels = new Volume<byte>(new Shape3(2, 2, 2)) };
        Assert.Equal("Volumes", Assert.Throws<ArgumentException>(() => UNetTrainer.Train(o with { Volumes = [bad] })).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => UNetTrainer.Train(o with { Patch = new Shape3(10, 16, 16) }));
        Assert.Equal("InitialCheckpoint", Assert.Throws<ArgumentException>(() => UNetTrainer.Train(o with { InitialCheckpoint = "/nope.safetensors" })).ParamName);
        Assert.Equal("Device", Assert.Throws<ArgumentOutOfRangeException>(() => UNetTrainer.Train(o with { Device = "tpu" })).ParamName);
    }

    [Fact]
    public void CudaWithoutAGpuIsAClearErrorBeforeAnyFileIsWritten()
    {
        if (TorchSharp.torch.cuda.is_available()) return; // this check is for CPU-only machines and builds
        var dir = Path.Combine(Path.GetTempPath(), $"emmask-cuda-{Guid.NewGuid():N}");
        var e = Assert.Throws<ArgumentException>(() => UNetTrainer.Train(Options(dir, 2) with { Device = "cuda" }));
        Assert.Contains("CUDA is not available", e.Message);
        Assert.False(Directory.Exists(dir) && Directory.EnumerateFiles(dir).Any());
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
    }

    [Fact]
    public void AutoDeviceTrainsOnWhatIsThere()
    {
        var dir = Directory.CreateTempSubdirectory("emmask-train-");
        try
        {
            var r = Run(Options(dir.FullName, 2) with { Device = "auto", Augmentation = AugmentationOptions.RealEm });
            Assert.Equal(2, r.Count);
            Assert.True(File.Exists(Path.Combine(dir.FullName, "last.safetensors")));
        }
        finally { dir.Delete(true); }
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; tests need synchronous reports.</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
