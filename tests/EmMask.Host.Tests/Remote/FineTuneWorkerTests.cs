using EmMask.Core.Inference;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;
using EmMask.Remote;

namespace EmMask.Host.Tests.Remote;

/// <summary>Fine-tuning from proofread labels runs in the worker (a libtorch of its own), and its errors come back clearly.</summary>
public class FineTuneWorkerTests
{
    private static string Init([System.Runtime.CompilerServices.CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", "..", "EmMask.Learning.Tests", "Fixtures", "MonaiUNet", "small_res2.pt"));

    private static readonly FineTuneOptions Options = new() { Model = Init(), Steps = 4, Patch = 16, LearningRate = 1e-2, Augment = "none", Scale = 1 };

    private static (Volume<byte> Image, Volume<byte> Labels) Volume(bool proofread)
    {
        var shape = new Shape3(16, 32, 32);
        var image = new Volume<byte>(shape);
        var labels = new Volume<byte>(shape);
        var rng = new Random(1);
        for (int i = 0; i < image.Span.Length; i++)
        {
            bool tissue = i % 32 < 16;
            image.Span[i] = (byte)(tissue ? 150 + rng.Next(100) : 40 + rng.Next(10));
            labels.Span[i] = proofread && i / (32 * 32) == 8 ? (byte)(tissue ? 1 : 0) : FineTuneOptions.NotProofread;
        }

        return (image, labels);
    }

    [Fact]
    public async Task Worker_fine_tunes_writes_the_model_reports_each_step_and_then_predicts_with_it()
    {
        var dir = Directory.CreateTempSubdirectory("emmask-finetune-worker-");
        try
        {
            var (image, labels) = Volume(proofread: true);
            string target = Path.Combine(dir.FullName, "tuned.safetensors");
            var reports = new List<ProgressReport>();
            using var client = UNetWorkerClientTests.NewClient();

            var (model, scale, notes) = await client.FineTuneAsync(image, labels, target, Options, new Sync(reports));
            int pid = client.WorkerProcessId!.Value;
            var predicted = await client.PredictAsync(image, new UNetMaskOptions { Model = model, Roi = 16, Scale = 1, Tta = 1, Envelope = false, SkipTiles = false, Device = "cpu" });

            Assert.Equal(target, model);
            Assert.True(File.Exists(target));
            Assert.Equal(1, scale);
            Assert.Contains("Fine-tuned for 4 steps", Assert.Single(notes));
            Assert.Equal(4, reports.Count(r => r.Stage.StartsWith("fine-tuning", StringComparison.Ordinal)));
            Assert.Equal(model, predicted.Model);
            Assert.Equal(pid, predicted.WorkerProcessId);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public async Task Nothing_proofread_is_a_clear_error_and_the_worker_stays()
    {
        var dir = Directory.CreateTempSubdirectory("emmask-finetune-worker-");
        try
        {
            var (image, labels) = Volume(proofread: false);
            using var client = UNetWorkerClientTests.NewClient();
            string target = Path.Combine(dir.FullName, "tuned.safetensors");

            var e = await Assert.ThrowsAsync<WorkerException>(() => client.FineTuneAsync(image, labels, target, Options));
            int pid = client.WorkerProcessId!.Value;
            var missing = await Assert.ThrowsAsync<WorkerException>(() => client.FineTuneAsync(image, Volume(true).Labels, target, Options with { Model = "/no/such/model.pt" }));

            Assert.Contains("No voxel is proofread", e.Message);
            Assert.Equal("ArgumentException", e.RemoteType);
            Assert.Contains("/no/such/model.pt", missing.Message);
            Assert.Equal(pid, client.WorkerProcessId);
            Assert.False(File.Exists(target));
            Assert.Empty(dir.GetFileSystemInfos());
            await Assert.ThrowsAsync<ArgumentException>(() => client.FineTuneAsync(image, new Volume<byte>(new Shape3(1, 2, 3)), target, Options));
        }
        finally { dir.Delete(true); }
    }

    private sealed class Sync(List<ProgressReport> reports) : IProgress<ProgressReport>
    {
        public void Report(ProgressReport value) => reports.Add(value);
    }
}
