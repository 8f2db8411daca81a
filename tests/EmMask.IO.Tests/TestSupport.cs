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

    private static readonly Lazy<bool> H5py = new(() => TryRun("import h5py, numpy").ExitCode == 0);

    private static readonly Lazy<bool> Tifffile = new(() => TryRun("import tifffile, numpy").ExitCode == 0);

    private static readonly Lazy<bool> Pillow = new(() => TryRun("import PIL.Image, numpy").ExitCode == 0);

    private static readonly Lazy<bool> Mrcfile = new(() => TryRun("import mrcfile, numpy").ExitCode == 0);

    public static bool HasH5py => H5py.Value;

    public static bool HasMrcfile => Mrcfile.Value;

    public static bool HasZarr => Zarr.Value;

    private static readonly Lazy<bool> Zarr = new(() => TryRun("import zarr, numcodecs, numpy").ExitCode == 0);

    public static bool HasTifffile => Tifffile.Value;

    public static bool HasPillow => Pillow.Value;

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

/// <summary>A fact that is skipped, with the reason, when /usr/bin/python3 has no h5py.</summary>
internal sealed class H5pyFactAttribute : FactAttribute
{
    public H5pyFactAttribute()
    {
        if (!Python.HasH5py)
        {
            Skip = "h5py is not importable by /usr/bin/python3; h5py interop not tested.";
        }
    }
}

/// <summary>A theory that is skipped, with the reason, when /usr/bin/python3 has no h5py.</summary>
internal sealed class H5pyTheoryAttribute : TheoryAttribute
{
    public H5pyTheoryAttribute()
    {
        if (!Python.HasH5py)
        {
            Skip = "h5py is not importable by /usr/bin/python3; h5py interop not tested.";
        }
    }
}

/// <summary>A fact that is skipped, with the reason, when /usr/bin/python3 has no mrcfile (Debian: python3-mrcfile).</summary>
internal sealed class MrcfileFactAttribute : FactAttribute
{
    public MrcfileFactAttribute()
    {
        if (!Python.HasMrcfile)
        {
            Skip = "mrcfile is not importable by /usr/bin/python3; MRC interop not tested.";
        }
    }
}

/// <summary>A fact that is skipped, with the reason, when /usr/bin/python3 has no zarr (Debian: python3-zarr).</summary>
internal sealed class ZarrFactAttribute : FactAttribute
{
    public ZarrFactAttribute()
    {
        if (!Python.HasZarr)
        {
            Skip = "zarr is not importable by /usr/bin/python3; Zarr interop not tested.";
        }
    }
}

/// <summary>A theory that is skipped, with the reason, when /usr/bin/python3 has no zarr.</summary>
internal sealed class ZarrTheoryAttribute : TheoryAttribute
{
    public ZarrTheoryAttribute()
    {
        if (!Python.HasZarr)
        {
            Skip = "zarr is not importable by /usr/bin/python3; Zarr interop not tested.";
        }
    }
}

/// <summary>A fact that is skipped, with the reason, when /usr/bin/python3 has no tifffile.</summary>
internal sealed class TifffileFactAttribute : FactAttribute
{
    public TifffileFactAttribute()
    {
        if (!Python.HasTifffile)
        {
            Skip = "tifffile is not importable by /usr/bin/python3; tifffile interop not tested.";
        }
    }
}

/// <summary>A fact that is skipped, with the reason, when /usr/bin/python3 has no Pillow (Debian: python3-pil).</summary>
internal sealed class PillowFactAttribute : FactAttribute
{
    public PillowFactAttribute()
    {
        if (!Python.HasPillow)
        {
            Skip = "Pillow is not importable by /usr/bin/python3; image interop not tested.";
        }
    }
}

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
