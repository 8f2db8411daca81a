using System.Diagnostics;
using EmMask.Core.Phantom;
using EmMask.Core.Volumes;
using EmMask.IO;

namespace EmMask.Cli.Tests;

/// <summary>EMMASK_LIBTORCH: the CLI runs on a chosen libtorch folder, or refuses it with one line and exit code 2.</summary>
public class InstalledLibTorchTests
{
    private const string DebianTorch = "/usr/lib/python3/dist-packages/torch/lib";

    [Fact]
    public void A_missing_folder_is_a_one_line_error_with_exit_code_2_and_nothing_written()
    {
        using var t = new TempFolder();
        var run = Invoke(new() { ["EMMASK_LIBTORCH"] = t["nowhere"] }, "phantom", t["p.h5"], "--shape", "16", "32", "32");
        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"error: EMMASK_LIBTORCH: folder not found: {t["nowhere"]}", Assert.Single(run.ErrorLines));
        Assert.False(File.Exists(t["p.h5"]));
    }

    [Fact]
    public void Debian_torch_1_13_is_refused_as_too_old_by_folder_and_by_auto()
    {
        if (!File.Exists(Path.Combine(DebianTorch, "libtorch_cpu.so")) || !File.Exists("/usr/bin/python3"))
        {
            return; // no python3-torch here
        }

        using var t = new TempFolder();
        foreach (var env in new Dictionary<string, string>[]
                 {
                     new() { ["EMMASK_LIBTORCH"] = DebianTorch },
                     new() { ["EMMASK_LIBTORCH"] = "auto", ["EMMASK_PYTHON"] = "/usr/bin/python3" },
                 })
        {
            var run = Invoke(env, "mask", t["p.h5"], t["m.h5"], "--method", "unet");
            Assert.Equal(2, run.ExitCode);
            string line = Assert.Single(run.ErrorLines);
            Assert.Contains("libtorch 1.13.0a0 in /usr/lib/python3/dist-packages/torch/lib is too old", line, StringComparison.Ordinal);
            Assert.Contains("built against libtorch 2.10", line, StringComparison.Ordinal);
            Assert.False(File.Exists(t["m.h5"]));
        }
    }

    [Fact]
    public void Fake_folders_are_refused_by_their_version_files_and_what_they_lack()
    {
        using var t = new TempFolder();
        string torch = t["site/torch"];
        string lib = Path.Combine(torch, "lib");
        Directory.CreateDirectory(lib);
        File.WriteAllText(Path.Combine(lib, "libc10.so"), string.Empty);
        File.WriteAllText(Path.Combine(lib, "libtorch.so"), string.Empty);

        var incomplete = Invoke(new() { ["EMMASK_LIBTORCH"] = lib }, "phantom", t["p.h5"], "--shape", "16", "32", "32");
        Assert.Equal(2, incomplete.ExitCode);
        Assert.Contains("libtorch_cpu.so missing", Assert.Single(incomplete.ErrorLines), StringComparison.Ordinal);

        File.WriteAllText(Path.Combine(lib, "libtorch_cpu.so"), string.Empty);
        var unknown = Invoke(new() { ["EMMASK_LIBTORCH"] = lib }, "phantom", t["p.h5"], "--shape", "16", "32", "32");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("cannot tell which libtorch", Assert.Single(unknown.ErrorLines), StringComparison.Ordinal);

        File.WriteAllText(Path.Combine(torch, "version.py"), "__version__ = '2.4.1+cu121'\ndebug = False\n");
        var old = Invoke(new() { ["EMMASK_LIBTORCH"] = lib }, "phantom", t["p.h5"], "--shape", "16", "32", "32");
        Assert.Equal(2, old.ExitCode);
        Assert.Contains("libtorch 2.4.1+cu121", Assert.Single(old.ErrorLines), StringComparison.Ordinal);
        Assert.Contains("too old", old.Stderr, StringComparison.Ordinal);

        // A new enough version passes the checks; empty files then fail to load, still one line and exit code 2.
        File.WriteAllText(Path.Combine(torch, "version.py"), "__version__ = '2.11.0+cu130'\n");
        var empty = Invoke(new() { ["EMMASK_LIBTORCH"] = lib }, "phantom", t["p.h5"], "--shape", "16", "32", "32");
        Assert.Equal(2, empty.ExitCode);
        Assert.StartsWith($"error: EMMASK_LIBTORCH: cannot load {Path.Combine(lib, "libc10.so")}", Assert.Single(empty.ErrorLines), StringComparison.Ordinal);
        Assert.False(File.Exists(t["p.h5"]));
        // The re-executed process removed its links folder.
        Assert.DoesNotContain(Directory.GetDirectories(Path.GetTempPath(), "emmask-libtorch-*"), d => new FileInfo(Path.Combine(d, "torch_cpu.so")).LinkTarget == Path.Combine(lib, "libtorch_cpu.so"));
    }

    [Fact]
    public void The_NuGet_libtorch_given_as_a_folder_gives_the_same_mask_and_is_the_only_libtorch_mapped()
    {
        string folder = NuGetLibTorchFolder();
        Assert.True(File.Exists(Path.Combine(folder, "libtorch_cpu.so")), folder);
        using var t = new TempFolder();
        var p = EmPhantom.Generate(new PhantomOptions { Seed = 3, Shape = new Shape3(32, 64, 64), TissueFraction = 0.4 });
        VolumeWriter.Write(VolumePath.Parse(t["p.h5"], "/raw"), p.Raw, new VolumeWriteOptions());
        string[] mask(string output) => ["mask", t["p.h5"], output, "--method", "unet", "--tta", "1", "--no-skip", "--no-envelope", "--scale", "1"];

        var plain = Invoke(new() { ["EMMASK_DEBUG"] = "1" }, mask(t["a.h5"]));
        Assert.True(plain.ExitCode == 0, plain.Stderr);
        var chosen = Invoke(new() { ["EMMASK_DEBUG"] = "1", ["EMMASK_LIBTORCH"] = folder }, mask(t["b.h5"]));
        Assert.True(chosen.ExitCode == 0, chosen.Stderr);

        Assert.Contains($"EMMASK_LIBTORCH: libtorch 2.10.0 (CPU only) from {folder}", chosen.Stderr, StringComparison.Ordinal);
        string[] mapped = Mapped(chosen);
        Assert.Contains(Path.Combine(folder, "libtorch_cpu.so"), mapped);
        Assert.All(mapped.Where(m => !Path.GetFileName(m).StartsWith("libLibTorchSharp", StringComparison.Ordinal)), m => Assert.Equal(folder, Path.GetDirectoryName(m)));
        Assert.DoesNotContain(Mapped(plain), m => Path.GetDirectoryName(m) == folder); // without the switch: the copy beside the app

        var a = VolumeReader.Read(VolumePath.Parse(t["a.h5"], "/mask"));
        var b = VolumeReader.Read(VolumePath.Parse(t["b.h5"], "/mask"));
        Assert.Equal(((Volume<byte>)a).Span.ToArray(), ((Volume<byte>)b).Span.ToArray());
    }

    internal static string NuGetLibTorchFolder()
    {
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return Path.Combine(packages, "libtorch-cpu-linux-x64", "2.10.0", "runtimes", "linux-x64", "native");
    }

    private static string[] Mapped(CliRunner.Run run) =>
        run.ErrorLines.Single(l => l.StartsWith("debug: libtorch mapped:", StringComparison.Ordinal))["debug: libtorch mapped:".Length..]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static CliRunner.Run Invoke(Dictionary<string, string> env, params string[] args) => CliRunner.InvokeWith(env, args);
}
