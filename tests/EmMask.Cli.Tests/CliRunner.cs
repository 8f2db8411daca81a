using System.Diagnostics;

namespace EmMask.Cli.Tests;

/// <summary>Runs the built emmask CLI as a real process (exit code, stdout and stderr as a user sees them).</summary>
internal static class CliRunner
{
    public sealed record Run(int ExitCode, string Stdout, string Stderr)
    {
        public string[] ErrorLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>
    /// How long one run may take before it counts as hung. A guard against hangs, not a timing: a block-wise U-Net run
    /// that takes about 20 s alone took over 120 s (the guard until 2026-12-07) in a fresh-clone CI run on 2 cores, while
    /// every test assembly ran beside it.
    /// </summary>
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(300);

    public static Run Invoke(params string[] args) => InvokeWith(new Dictionary<string, string>(), args);

    /// <summary>As <see cref="Invoke"/>, with environment variables set (and EMMASK_LIBTORCH unset unless given).</summary>
    public static Run InvokeWith(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "emmask.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["EMMASK_DEBUG"] = "0";
        start.Environment.Remove("EMMASK_LIBTORCH");
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Guard))
        {
            process.Kill(true);
            throw new TimeoutException($"emmask did not finish in {Guard.TotalSeconds:0} s: " + string.Join(' ', args));
        }

        return new Run(process.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>A temporary folder deleted after the test.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "emmask-cli-" + Guid.NewGuid().ToString("N"));

    public string this[string name] => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
