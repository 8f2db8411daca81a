using System.Diagnostics;
using System.Reflection;
using EmMask.Core.Inference;
using EmMask.Core.Volumes;
using EmMask.Remote;

namespace EmMask.Host.Tests.Worker;

/// <summary>EMMASK_LIBTORCH in the worker: a refused libtorch is each request's error; an accepted one is the only one mapped.</summary>
public class InstalledLibTorchWorkerTests
{
    [Fact]
    public void A_missing_folder_is_the_error_reply_of_a_request()
    {
        using var worker = Start("/nonexistent/emmask-libtorch");
        var reply = worker.Predict();
        Assert.Equal(WorkerProtocol.ErrorType, reply.Type);
        Assert.Contains("EMMASK_LIBTORCH: folder not found: /nonexistent/emmask-libtorch", reply.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_NuGet_libtorch_given_as_a_folder_is_the_only_libtorch_the_worker_maps()
    {
        string folder = NuGetLibTorchFolder();
        using var worker = Start(folder);
        var reply = worker.Predict();
        Assert.True(reply.Type == WorkerProtocol.DoneType, reply.Message);

        // Same pid after the re-execution; libtorch from the chosen folder only, TorchSharp's shim from the worker's.
        string[] mapped = [.. File.ReadLines($"/proc/{worker.Pid}/maps").Select(l => l.IndexOf('/', StringComparison.Ordinal) is int i and >= 0 ? l[i..] : string.Empty)
            .Where(p => Path.GetFileName(p) is { } n && (n.StartsWith("libtorch", StringComparison.Ordinal) || n.StartsWith("libc10", StringComparison.Ordinal)))
            .Distinct()];
        Assert.Contains(Path.Combine(folder, "libtorch_cpu.so"), mapped);
        Assert.All(mapped, p => Assert.Equal(folder, Path.GetDirectoryName(p)));
    }

    internal static string NuGetLibTorchFolder()
    {
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return Path.Combine(packages, "libtorch-cpu-linux-x64", "2.10.0", "runtimes", "linux-x64", "native");
    }

    private static WorkerUnderTest Start(string libtorch)
    {
        string path = typeof(InstalledLibTorchWorkerTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "EmMaskWorkerPath").Value!;
        var info = WorkerLocator.StartInfo(WorkerLocator.Locate(path));
        info.Environment["EMMASK_LIBTORCH"] = libtorch;
        return new WorkerUnderTest(Process.Start(info)!);
    }

    private sealed class WorkerUnderTest : IDisposable
    {
        private readonly Process _process;
        private readonly Task<string> _stderr;

        public WorkerUnderTest(Process process)
        {
            _process = process;
            _stderr = process.StandardError.ReadToEndAsync();
            var ready = Next();
            Assert.Equal(WorkerProtocol.ReadyType, ready.Type);
            Pid = ready.Pid ?? -1;
            Assert.Equal(process.Id, Pid);
        }

        public int Pid { get; }

        public WorkerMessage Predict()
        {
            var shape = new Shape3(16, 16, 16);
            using var file = SharedVolumeFile.Create(shape);
            var input = ((Volume<float>)file.Input).Span;
            var random = new Random(1);
            for (int i = 0; i < input.Length; i++)
            {
                input[i] = random.NextSingle(); // a constant volume would be answered without the network
            }

            var options = new UNetMaskOptions { Model = "builtin:identity", Roi = 16, Scale = 1, Tta = 1, Envelope = false, SkipTiles = false, Device = "cpu" };
            _process.StandardInput.WriteLine(WorkerProtocol.Serialize(new WorkerMessage
            {
                Type = WorkerProtocol.PredictType, Id = 1, File = file.Path, Shape = [16, 16, 16], InputType = WireTypes.Name(VoxelType.Float32), Options = options.ToJson(),
            }));
            _process.StandardInput.Flush();
            while (true)
            {
                var m = Next();
                if (m.Type != WorkerProtocol.ProgressType)
                {
                    return m;
                }
            }
        }

        public void Dispose()
        {
            try
            {
                _process.StandardInput.WriteLine(WorkerProtocol.Serialize(new WorkerMessage { Type = WorkerProtocol.ShutdownType }));
                _process.StandardInput.Close();
            }
            catch (IOException)
            {
            }

            if (!_process.WaitForExit(10_000))
            {
                _process.Kill(true);
            }

            _process.Dispose();
        }

        private WorkerMessage Next()
        {
            var line = _process.StandardOutput.ReadLineAsync();
            if (!line.Wait(TimeSpan.FromSeconds(60)) || line.Result is null)
            {
                _process.Kill(true);
                throw new InvalidOperationException("worker gave no message; stderr: " + _stderr.Result);
            }

            return WorkerProtocol.TryParse(line.Result) ?? Next();
        }
    }
}
