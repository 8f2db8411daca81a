using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using TorchSharp;

namespace EmMask.Learning.Native;

/// <summary>
/// The <c>EMMASK_LIBTORCH</c> switch: run TorchSharp on the libtorch of an installed PyTorch (often a CUDA build)
/// instead of the libtorch-cpu NuGet package that ships beside the app. Call <see cref="ApplyFromEnvironment"/> once at
/// start-up, before anything touches TorchSharp (it may re-execute the process).
/// </summary>
/// <remarks>
/// <para>How TorchSharp 0.107 finds libtorch: <c>torch</c>'s static constructor (run on the first touch of anything in
/// TorchSharp) calls <c>LoadNativeBackend</c>, which calls <c>NativeLibrary.TryLoad("torch_cpu", typeof(torch).Assembly,
/// null)</c> (and <c>"torch_cuda"</c>), then <c>"LibTorchSharp"</c>, and remembers success in private static flags. It
/// has no option for another folder. The runtime resolves such a name by trying each spelling (<c>torch_cpu.so</c>,
/// then <c>libtorch_cpu.so</c>, ...) first in the host's native search folders (the app folder and its
/// <c>runtimes/linux-x64/native</c>) by full path, then as a bare name through <c>dlopen</c>; neither
/// <c>SetDllImportResolver</c> nor <c>ResolvingUnmanagedDll</c> is asked. glibc matches a bare name against the sonames
/// of loaded libraries, but a full path only against the same file: so the NuGet <c>libtorch_cpu.so</c> beside the app
/// would be mapped a second time next to a preloaded one, and its static initialisers abort the process ("Tried to
/// register multiple backend fallbacks").</para>
/// <para>So: (1) the process re-executes itself once (<c>execve</c>: same pid, arguments and standard streams) with
/// <c>LD_LIBRARY_PATH</c> starting with a private temporary folder that holds symbolic links <c>torch_cpu.so</c> (and
/// <c>torch_cuda.so</c>) to the chosen libraries: the bare-name probe for <c>torch_cpu.so</c> comes before the
/// full-path probe for <c>libtorch_cpu.so</c>, and glibc sees the file it already has; (2) it loads <c>libc10</c>,
/// [<c>libc10_cuda</c>], <c>libtorch_cpu</c>, [<c>libtorch_cuda</c>] and <c>libtorch</c> from the chosen folder by full
/// path, in dependency order, so that TorchSharp's own <c>libLibTorchSharp.so</c> binds its DT_NEEDED entries
/// (<c>libtorch.so</c>, <c>libc10.so</c>, <c>libtorch_cpu.so</c>) to them by soname; (3) it runs <c>torch</c>'s static
/// constructor at once, deletes the links and restores <c>LD_LIBRARY_PATH</c> for child processes; (4) it checks
/// <c>/proc/self/maps</c> that no libtorch file from another folder was mapped.</para>
/// </remarks>
public static class InstalledLibTorch
{
    /// <summary>The environment variable: a folder holding libtorch's shared libraries, or <c>auto</c>.</summary>
    public const string Variable = "EMMASK_LIBTORCH";

    /// <summary>The Python interpreter <c>auto</c> asks (default <c>python3</c>).</summary>
    public const string PythonVariable = "EMMASK_PYTHON";

    // Set for the re-executed process only, and removed from its environment at once.
    private const string ShimVariable = "EMMASK_LIBTORCH_SHIM";
    private const string ResolvedVariable = "EMMASK_LIBTORCH_RESOLVED";
    private const string SavedPathVariable = "EMMASK_LIBTORCH_SAVED_LD_LIBRARY_PATH";

    /// <summary>The libtorch TorchSharp 0.107 is built against; older ones lack symbols it calls.</summary>
    public static readonly Version Minimum = new(2, 10);

    /// <summary>The newest libtorch this was checked with (PyTorch 2.11 + CUDA 13 on an H200); newer ones get a warning.</summary>
    public static readonly Version NewestTested = new(2, 11);

    private static readonly string[] CpuLibraries = ["libc10.so", "libtorch_cpu.so", "libtorch.so"];

    private static readonly object Gate = new();

    /// <summary>The libtorch loaded by this switch in this process, or null (the NuGet one, loaded by TorchSharp).</summary>
    public static LibTorchFolder? Current { get; private set; }

    /// <summary>
    /// Applies <see cref="Variable"/>: nothing when it is unset or empty; otherwise inspects the folder (or asks Python
    /// for <c>auto</c>), refuses an incompatible libtorch, re-executes the process once with the loader set up (see the
    /// remarks), and there loads the chosen libtorch for TorchSharp.
    /// </summary>
    /// <returns>The loaded folder, or null when the switch is off.</returns>
    /// <exception cref="LibTorchSelectionException">The folder is missing, incomplete, of an incompatible or unknown version, or does not load.</exception>
    public static LibTorchFolder? ApplyFromEnvironment()
    {
        string? value = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        string? shim = Environment.GetEnvironmentVariable(ShimVariable);
        if (shim is null)
        {
            ReExecute(Resolve(value.Trim(), Environment.GetEnvironmentVariable(PythonVariable))); // returns only by throwing
        }

        // The re-executed process: the parent resolved the folder (and asked Python once, for auto).
        string[] resolved = (Environment.GetEnvironmentVariable(ResolvedVariable) ?? string.Empty).Split('\n');
        string? saved = Environment.GetEnvironmentVariable(SavedPathVariable);
        Environment.SetEnvironmentVariable("LD_LIBRARY_PATH", string.IsNullOrEmpty(saved) ? null : saved);
        Environment.SetEnvironmentVariable(ShimVariable, null);
        Environment.SetEnvironmentVariable(ResolvedVariable, null);
        Environment.SetEnvironmentVariable(SavedPathVariable, null);
        try
        {
            if (resolved.Length != 3)
            {
                throw new LibTorchSelectionException($"{Variable}: internal error: the re-executed process lost the chosen folder");
            }

            var folder = Inspect(resolved[0], resolved[1], resolved[2]);
            Load(folder);
            return folder;
        }
        finally
        {
            if (!string.IsNullOrEmpty(shim) && Directory.Exists(shim))
            {
                Directory.Delete(shim, recursive: true);
            }
        }
    }

    /// <summary>
    /// Checks a value of <see cref="Variable"/> without loading anything: a folder path, or <c>auto</c> (asks
    /// <paramref name="python"/>, default <c>python3</c>, where its torch lives and which version it is).
    /// </summary>
    /// <exception cref="LibTorchSelectionException">The folder is missing, incomplete, or of an incompatible or unknown version.</exception>
    public static LibTorchFolder Resolve(string value, string? python = null)
    {
        if (value.Equals("auto", StringComparison.OrdinalIgnoreCase))
        {
            var (version, torchDir) = AskPython(string.IsNullOrWhiteSpace(python) ? "python3" : python.Trim());
            return Inspect(Path.Combine(torchDir, "lib"), version, $"{python ?? "python3"}: torch.__version__");
        }

        return Inspect(value);
    }

    /// <summary>
    /// Checks a libtorch folder: it exists, holds <c>libc10.so</c>, <c>libtorch_cpu.so</c> and <c>libtorch.so</c> (CUDA when
    /// <c>libc10_cuda.so</c> and <c>libtorch_cuda.so</c> are there too), and its version is known and compatible. The
    /// version is <paramref name="knownVersion"/>, else read from <c>../version.py</c> (a PyTorch install),
    /// <c>../build-version</c> or <c>build-version</c> (a libtorch archive), or the <c>.nuspec</c> of the NuGet
    /// package whose <c>runtimes/RID/native</c> this is.
    /// </summary>
    /// <exception cref="LibTorchSelectionException">The folder is missing, incomplete, or of an incompatible or unknown version.</exception>
    public static LibTorchFolder Inspect(string folder, string? knownVersion = null, string? versionSource = null)
    {
        string full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
        {
            throw new LibTorchSelectionException($"{Variable}: folder not found: {full}");
        }

        string[] missing = [.. CpuLibraries.Where(l => !File.Exists(Path.Combine(full, l)))];
        if (missing.Length > 0)
        {
            throw new LibTorchSelectionException(
                $"{Variable}: {full} is not a libtorch folder: {string.Join(", ", missing)} missing (a PyTorch install has them in torch/lib)");
        }

        bool cuda = File.Exists(Path.Combine(full, "libtorch_cuda.so")) && File.Exists(Path.Combine(full, "libc10_cuda.so"));
        string? version = knownVersion;
        string? source = versionSource;
        if (version is null)
        {
            (version, source) = FindVersion(full);
        }

        if (version is null || source is null)
        {
            throw new LibTorchSelectionException(
                $"{Variable}: cannot tell which libtorch {full} is (no ../version.py, build-version or NuGet .nuspec); use a PyTorch install's torch/lib or {Variable}=auto");
        }

        var parsed = ParseVersion(version)
            ?? throw new LibTorchSelectionException($"{Variable}: cannot read the libtorch version '{version}' ({source})");
        if (parsed < Minimum)
        {
            throw new LibTorchSelectionException(
                $"{Variable}: libtorch {version} in {full} is too old: TorchSharp 0.107 is built against libtorch {Minimum} and needs {Minimum} or newer ({Minimum} and {NewestTested} are tested)");
        }

        string? warning = parsed > NewestTested
            ? $"{Variable}: libtorch {version} is newer than the tested {Minimum}–{NewestTested}; if it fails to load or crashes, unset {Variable}"
            : null;
        return new LibTorchFolder(full, version, source, cuda, warning);
    }

    /// <summary>
    /// Loads <paramref name="folder"/>'s libtorch and starts TorchSharp on it (steps 2-4 in the remarks on
    /// <see cref="InstalledLibTorch"/>; without step 1, TorchSharp maps its own copy as well unless the app folder has
    /// none). Once per process; loading the same folder again does nothing.
    /// </summary>
    /// <exception cref="LibTorchSelectionException">A library does not load, a libtorch is already loaded, or another copy got mapped.</exception>
    public static void Load(LibTorchFolder folder)
    {
        lock (Gate)
        {
            if (Current is { } current)
            {
                if (current.Folder == folder.Folder)
                {
                    return;
                }

                throw new LibTorchSelectionException($"{Variable}: libtorch from {current.Folder} is already loaded in this process");
            }

            if (MappedLibTorchFiles().FirstOrDefault(f => Path.GetFileName(f) == "libtorch_cpu.so" || IsLibTorchSharp(f)) is { } early)
            {
                throw new LibTorchSelectionException($"{Variable}: a libtorch is already loaded ({early}); the switch must be applied at start-up");
            }

            CheckNoCudaBuildBesideTheApp(folder);
            string[] order = folder.HasCuda
                ? ["libc10.so", "libc10_cuda.so", "libtorch_cpu.so", "libtorch_cuda.so", "libtorch.so"]
                : ["libc10.so", "libtorch_cpu.so", "libtorch.so"];
            foreach (string name in order)
            {
                string path = Path.Combine(folder.Folder, name);
                try
                {
                    NativeLibrary.Load(path);
                }
                catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
                {
                    throw new LibTorchSelectionException($"{Variable}: cannot load {path}: {OneLine(e.Message)}");
                }
            }

            try
            {
                // TorchSharp probes torch_cpu / torch_cuda (found through the links: the files loaded above) and
                // LibTorchSharp (beside the app; its libtorch dependencies bind by soname to the files loaded above).
                RuntimeHelpers.RunClassConstructor(typeof(torch).TypeHandle);
            }
            catch (TypeInitializationException e)
            {
                throw new LibTorchSelectionException($"{Variable}: TorchSharp does not start on libtorch {folder.Version}: {OneLine((e.InnerException ?? e).Message)}");
            }

            Current = folder;
            string real = RealPath(folder.Folder);
            string[] strays = [.. MappedLibTorchFiles().Where(f => !IsLibTorchSharp(f) && RealPath(Path.GetDirectoryName(f)!) != real)];
            if (strays.Length > 0)
            {
                throw new LibTorchSelectionException(
                    $"{Variable}: a second libtorch got mapped beside the one in {folder.Folder}: {string.Join(", ", strays)} (are its sonames libc10.so, libtorch_cpu.so, libtorch.so?)");
            }
        }
    }

    /// <summary>
    /// The libtorch files this process has mapped (<c>libc10*</c>, <c>libtorch*</c>, <c>libLibTorchSharp*</c>), from
    /// <c>/proc/self/maps</c>; empty where that file does not exist.
    /// </summary>
    public static IReadOnlyList<string> MappedLibTorchFiles()
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps))
        {
            return [];
        }

        var files = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string line in File.ReadLines(maps))
        {
            int slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0)
            {
                continue;
            }

            string path = line[slash..].Trim();
            string name = Path.GetFileName(path);
            if (name.StartsWith("libc10", StringComparison.Ordinal) || name.StartsWith("libtorch", StringComparison.Ordinal) || IsLibTorchSharp(path))
            {
                files.Add(path);
            }
        }

        return [.. files];
    }

    /// <summary>One line for logs: version, CUDA and folder of <paramref name="folder"/>.</summary>
    public static string Describe(LibTorchFolder folder) =>
        $"{Variable}: libtorch {folder.Version} ({(folder.HasCuda ? "with CUDA" : "CPU only")}) from {folder.Folder}";

    /// <summary>"2.11.0+cu130", "1.13.0a0", "2.10.0.0" → major.minor; null when it does not start with two numbers.</summary>
    public static Version? ParseVersion(string version)
    {
        var m = Regex.Match(version.Trim(), @"^v?(\d+)\.(\d+)");
        return m.Success
            ? new Version(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))
            : null;
    }

    private static (string? Version, string? Source) FindVersion(string folder)
    {
        string parent = Path.GetDirectoryName(folder) ?? folder;
        string versionPy = Path.Combine(parent, "version.py");
        if (File.Exists(versionPy))
        {
            var m = Regex.Match(File.ReadAllText(versionPy), @"^__version__\s*=\s*['""]([^'""]+)['""]", RegexOptions.Multiline);
            if (m.Success)
            {
                return (m.Groups[1].Value, versionPy);
            }
        }

        foreach (string buildVersion in new[] { Path.Combine(parent, "build-version"), Path.Combine(folder, "build-version") })
        {
            if (File.Exists(buildVersion) && File.ReadAllText(buildVersion).Trim() is { Length: > 0 } text)
            {
                return (text.Split('\n')[0].Trim(), buildVersion);
            }
        }

        // A NuGet libtorch package: <packages>/<id>/<version>/runtimes/<rid>/native, with <id>.nuspec in <version>.
        var native = new DirectoryInfo(folder);
        if (native.Name == "native" && native.Parent?.Parent is { Name: "runtimes" } runtimes && runtimes.Parent is { } versionDir)
        {
            foreach (var nuspec in versionDir.EnumerateFiles("*.nuspec"))
            {
                var id = Regex.Match(File.ReadAllText(nuspec.FullName), @"<id>\s*([^<\s]+)\s*</id>");
                var v = Regex.Match(File.ReadAllText(nuspec.FullName), @"<version>\s*([^<\s]+)\s*</version>");
                if (id.Success && v.Success && id.Groups[1].Value.StartsWith("libtorch-", StringComparison.OrdinalIgnoreCase))
                {
                    return (v.Groups[1].Value, nuspec.FullName);
                }
            }
        }

        return (null, null);
    }

    private static (string Version, string TorchDir) AskPython(string python)
    {
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("import torch, os; print(torch.__version__); print(os.path.dirname(torch.__file__))");
        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new LibTorchSelectionException($"{Variable}=auto: cannot run {python} ({e.Message}); set {PythonVariable} or give the folder");
        }

        using (process)
        {
            if (process is null)
            {
                throw new LibTorchSelectionException($"{Variable}=auto: cannot run {python}");
            }

            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(120_000))
            {
                process.Kill(true);
                throw new LibTorchSelectionException($"{Variable}=auto: {python} -c 'import torch' did not finish in 120 s");
            }

            string[] lines = stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (process.ExitCode != 0 || lines.Length < 2)
            {
                string last = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? $"exit code {process.ExitCode}";
                throw new LibTorchSelectionException($"{Variable}=auto: {python} cannot import torch: {last}");
            }

            return (lines[^2], lines[^1]);
        }
    }

    private static void CheckNoCudaBuildBesideTheApp(LibTorchFolder folder)
    {
        // A CUDA NuGet build beside the app: TorchSharp would load its libtorch_cuda.so by full path.
        string torchSharpDir = Path.GetDirectoryName(typeof(torch).Assembly.Location) is { Length: > 0 } d ? d : AppContext.BaseDirectory;
        foreach (string dir in new[] { torchSharpDir, Path.Combine(torchSharpDir, "runtimes", "linux-x64", "native") })
        {
            if (File.Exists(Path.Combine(dir, "libtorch_cuda.so")) && RealPath(dir) != RealPath(folder.Folder))
            {
                throw new LibTorchSelectionException(
                    $"{Variable}: this build ships a CUDA libtorch ({dir}); the switch works with the default CPU build (EmMaskLibTorch=libtorch-cpu-linux-x64)");
            }
        }
    }

    /// <summary>execve this process again with the links folder first on LD_LIBRARY_PATH (step 1 in the remarks).</summary>
    private static void ReExecute(LibTorchFolder folder)
    {
        CheckNoCudaBuildBesideTheApp(folder);
        string exe = RealPath("/proc/self/exe");
        string[] argv = File.ReadAllText("/proc/self/cmdline").Split('\0');
        if (argv.Length > 0 && argv[^1].Length == 0)
        {
            argv = argv[..^1];
        }

        var shim = Directory.CreateTempSubdirectory("emmask-libtorch-"); // mode 0700, deleted by the re-executed process
        File.CreateSymbolicLink(Path.Combine(shim.FullName, "torch_cpu.so"), Path.Combine(folder.Folder, "libtorch_cpu.so"));
        if (folder.HasCuda)
        {
            File.CreateSymbolicLink(Path.Combine(shim.FullName, "torch_cuda.so"), Path.Combine(folder.Folder, "libtorch_cuda.so"));
        }

        string? path = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
        var env = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            env[(string)e.Key] = e.Value as string ?? string.Empty;
        }

        env["LD_LIBRARY_PATH"] = string.IsNullOrEmpty(path) ? shim.FullName : shim.FullName + ":" + path;
        env[SavedPathVariable] = path ?? string.Empty;
        env[ShimVariable] = shim.FullName;
        env[ResolvedVariable] = $"{folder.Folder}\n{folder.Version}\n{folder.VersionSource}";
        string?[] envp = [.. env.Select(kv => $"{kv.Key}={kv.Value}"), null];
        string?[] args = [.. argv, null];
        Console.Out.Flush();
        Console.Error.Flush();
        int errno;
        try
        {
            _ = execve(exe, args, envp);
            errno = Marshal.GetLastPInvokeError();
        }
        finally
        {
            Directory.Delete(shim.FullName, recursive: true);
        }

        throw new LibTorchSelectionException($"{Variable}: cannot re-execute {exe} (errno {errno})");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int execve(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string path,
        [MarshalAs(UnmanagedType.LPArray, ArraySubType = UnmanagedType.LPStr)] string?[] argv,
        [MarshalAs(UnmanagedType.LPArray, ArraySubType = UnmanagedType.LPStr)] string?[] envp);

    private static string RealPath(string path)
    {
        IntPtr resolved = realpath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero)
        {
            return Path.GetFullPath(path);
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved) ?? path;
        }
        finally
        {
            Marshal.FreeHGlobal(resolved);
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern IntPtr realpath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);

    private static bool IsLibTorchSharp(string path) => Path.GetFileName(path).StartsWith("libLibTorchSharp", StringComparison.Ordinal);

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}

/// <summary>A checked libtorch folder.</summary>
/// <param name="Folder">Full path of the folder with libc10.so, libtorch_cpu.so, libtorch.so.</param>
/// <param name="Version">Its version as found ("2.11.0+cu130").</param>
/// <param name="VersionSource">Where the version came from (a file, or the Python interpreter).</param>
/// <param name="HasCuda">libc10_cuda.so and libtorch_cuda.so are there too.</param>
/// <param name="Warning">A one-line warning (a newer major.minor than tested), or null.</param>
public sealed record LibTorchFolder(string Folder, string Version, string VersionSource, bool HasCuda, string? Warning);

/// <summary>The libtorch chosen with <c>EMMASK_LIBTORCH</c> cannot be used; the message is one line and says why.</summary>
public sealed class LibTorchSelectionException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LibTorchSelectionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public LibTorchSelectionException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public LibTorchSelectionException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
