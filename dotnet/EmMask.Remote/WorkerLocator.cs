using System.Diagnostics;

namespace EmMask.Remote;

/// <summary>
/// Finds the worker executable and builds its start info. Order: an explicit path, the EM_MASK_WORKER
/// environment variable, next to EmMask.Host.dll, then the repository build output
/// (dotnet/EmMask.Worker/bin/&lt;config&gt;/net10.0) above it. A path may name the .dll, the apphost or a folder.
/// </summary>
public static class WorkerLocator
{
    /// <summary>Environment variable that overrides where the worker is.</summary>
    public const string EnvironmentVariable = "EM_MASK_WORKER";

    private const string AssemblyFile = "EmMask.Worker.dll";

    /// <summary>Resolves the worker's .dll or apphost; throws <see cref="FileNotFoundException"/> naming the places tried.</summary>
    public static string Locate(string? explicitPath = null)
    {
        var tried = new List<string>();
        foreach (string? candidate in new[] { explicitPath, Environment.GetEnvironmentVariable(EnvironmentVariable) })
        {
            if (!string.IsNullOrWhiteSpace(candidate))
            {
                // An explicit choice that is wrong must fail loudly rather than silently use another build.
                return Resolve(candidate, tried) ?? throw new FileNotFoundException(
                    $"EmMask worker not found at '{candidate}' (expected {AssemblyFile} or its folder).", candidate);
            }
        }

        string hostDir = Path.GetDirectoryName(typeof(WorkerLocator).Assembly.Location) ?? AppContext.BaseDirectory;
        if (Resolve(hostDir, tried) is { } beside)
        {
            return beside;
        }

        for (var dir = new DirectoryInfo(hostDir); dir is not null; dir = dir.Parent)
        {
            string bin = Path.Combine(dir.FullName, "dotnet", "EmMask.Worker", "bin");
            if (Directory.Exists(bin))
            {
                // The worker built in the host's own configuration (bin/Release/net10.0 beside a Release host) first,
                // so a stale Debug build cannot shadow the Release one the tests just built.
                var hostBuild = new DirectoryInfo(hostDir);
                if (hostBuild.Parent is { } config &&
                    Resolve(Path.Combine(bin, config.Name, hostBuild.Name), tried) is { } sameConfiguration)
                {
                    return sameConfiguration;
                }

                // Otherwise the newest build wins when both Debug and Release exist.
                var newest = Directory.EnumerateFiles(bin, AssemblyFile, SearchOption.AllDirectories)
                    .Select(f => new FileInfo(f))
                    .OrderByDescending(f => f.LastWriteTimeUtc)
                    .FirstOrDefault();
                if (newest is not null)
                {
                    return newest.FullName;
                }

                tried.Add(bin);
            }
        }

        throw new FileNotFoundException(
            $"EmMask worker ({AssemblyFile}) not found; build dotnet/EmMask.Worker or set {EnvironmentVariable}. Looked in: {string.Join(", ", tried)}.");
    }

    /// <summary>Start info that runs the worker with redirected stdin/stdout/stderr.</summary>
    public static ProcessStartInfo StartInfo(string workerPath)
    {
        ProcessStartInfo info = workerPath.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
            ? new ProcessStartInfo(DotnetHost()) { ArgumentList = { "exec", workerPath } }
            : new ProcessStartInfo(workerPath);
        info.RedirectStandardInput = true;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        info.CreateNoWindow = true;
        info.StandardOutputEncoding = System.Text.Encoding.UTF8;
        info.WorkingDirectory = Path.GetDirectoryName(workerPath) ?? Environment.CurrentDirectory;
        return info;
    }

    private static string? Resolve(string path, List<string> tried)
    {
        tried.Add(path);
        if (File.Exists(path))
        {
            return Path.GetFullPath(path);
        }

        if (Directory.Exists(path))
        {
            string dll = Path.Combine(path, AssemblyFile);
            if (File.Exists(dll))
            {
                return Path.GetFullPath(dll);
            }
        }

        return null;
    }

    /// <summary>
    /// The dotnet muxer to run a framework-dependent .dll: the current process when it is dotnet, DOTNET_HOST_PATH
    /// (set by the SDK), the root of the running runtime (works inside Python via pythonnet), then PATH.
    /// </summary>
    private static string DotnetHost()
    {
        string exe = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        if (Environment.ProcessPath is { } self && Path.GetFileName(self).Equals(exe, StringComparison.OrdinalIgnoreCase))
        {
            return self;
        }

        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }

        // typeof(object) lives in <root>/shared/Microsoft.NETCore.App/<version>/.
        string? runtimeDir = Path.GetDirectoryName(typeof(object).Assembly.Location);
        if (runtimeDir is not null)
        {
            string candidate = Path.GetFullPath(Path.Combine(runtimeDir, "..", "..", "..", exe));
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        foreach (string? root in new[] { Environment.GetEnvironmentVariable("DOTNET_ROOT") })
        {
            if (root is not null && File.Exists(Path.Combine(root, exe)))
            {
                return Path.Combine(root, exe);
            }
        }

        return exe;
    }
}
