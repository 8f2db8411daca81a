using System.Diagnostics;
using EmMask.Core.Volumes;

namespace EmMask.IO.Tests;

/// <summary>A temp directory removed after the test.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "emmask-io-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Names of the files in the directory, hidden temp files included.</summary>
    public string[] Entries() => Directory.GetFiles(Path).Select(System.IO.Path.GetFileName).Order().ToArray()!;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Runs the system Python (Debian's, with numpy/h5py/tifffile) for interop checks.</summary>
internal static class Python
{
    public const string Exe = "/usr/bin/python3";

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> Importable = new();

    public static bool HasH5py => Has(Module.H5py);

    public static bool HasPillow => Has(Module.Pillow);

    /// <summary>Whether /usr/bin/python3 imports the module (and numpy), asked once per module.</summary>
    public static bool Has(Module module) => Importable.GetOrAdd(Import(module), i => TryRun($"import {i}, numpy").ExitCode == 0);

    /// <summary>The reason a test needing the module is skipped, or null when it is there.</summary>
    public static string? SkipReason(Module module) =>
        Has(module) ? null : $"{Import(module)} is not importable by {Exe} (Debian: {Package(module)}); its interop is not tested.";

    private static string Import(Module module) => module switch
    {
        Module.H5py => "h5py",
        Module.Tifffile => "tifffile",
        Module.Pillow => "PIL.Image",
        Module.Mrcfile => "mrcfile",
        _ => "zarr, numcodecs",
    };

    private static string Package(Module module) => module switch
    {
        Module.Pillow => "python3-pil",
        _ => "python3-" + Import(module).Split(',')[0],
    };

    /// <summary>Runs a script with arguments (sys.argv[1:]) and returns stdout; fails the test on a non-zero exit.</summary>
    public static string Run(string script, params string[] args)
    {
        var (code, stdout, stderr) = TryRun(script, args);
        Assert.True(code == 0, $"python failed ({code}): {stderr}");
        return stdout.Trim();
    }

    private static (int ExitCode, string Stdout, string Stderr) TryRun(string script, params string[] args)
    {
        if (!System.IO.File.Exists(Exe))
        {
            return (-1, "", $"{Exe} not found");
        }

        var info = new ProcessStartInfo(Exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(script);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>The Python modules interop tests read or write files with.</summary>
internal enum Module
{
    H5py,
    Tifffile,
    Pillow,
    Mrcfile,
    Zarr,
}

/// <summary>A fact that is skipped, with the reason, when /usr/bin/python3 lacks the module.</summary>
internal class PythonFactAttribute : FactAttribute
{
    public PythonFactAttribute(Module module) => Skip = Python.SkipReason(module);
}

/// <summary>A theory that is skipped, with the reason, when /usr/bin/python3 lacks the module.</summary>
internal class PythonTheoryAttribute : TheoryAttribute
{
    public PythonTheoryAttribute(Module module) => Skip = Python.SkipReason(module);
}

internal sealed class H5pyFactAttribute() : PythonFactAttribute(Module.H5py);

internal sealed class H5pyTheoryAttribute() : PythonTheoryAttribute(Module.H5py);

internal sealed class TifffileFactAttribute() : PythonFactAttribute(Module.Tifffile);

internal sealed class PillowFactAttribute() : PythonFactAttribute(Module.Pillow);

/// <summary>Deterministic test volumes whose voxels all differ from their neighbours.</summary>
internal static class Volumes
{
    public static IVolume Make(string dtype, Shape3 shape, VoxelSize? voxelSize = null) => dtype switch
    {
        "uint8" => Fill<byte>(shape, voxelSize, i => (byte)((i * 7) + 3)),
        "uint16" => Fill<ushort>(shape, voxelSize, i => (ushort)((i * 2654435761L) >> 7)),
        "float32" => Fill<float>(shape, voxelSize, i => (float)Math.Sin(i * 0.37) * 1000.5f),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    public static Volume<T> Fill<T>(Shape3 shape, VoxelSize? voxelSize, Func<long, T> value)
        where T : unmanaged
    {
        var volume = new Volume<T>(shape, voxelSize);
        var span = volume.Span;
        for (int i = 0; i < span.Length; i++)
        {
            span[i] = value(i);
        }

        return volume;
    }

    public static void AssertEqual(IVolume expected, IVolume actual)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.Equal(expected.VoxelType, actual.VoxelType);
        switch (expected)
        {
            case Volume<byte> e: Assert.True(e.Span.SequenceEqual(((Volume<byte>)actual).Span), "uint8 voxels differ"); break;
            case Volume<ushort> e: Assert.True(e.Span.SequenceEqual(((Volume<ushort>)actual).Span), "uint16 voxels differ"); break;
            case Volume<float> e: Assert.True(e.Span.SequenceEqual(((Volume<float>)actual).Span), "float32 voxels differ"); break;
        }
    }
}
