using System.IO.MemoryMappedFiles;
using EmMask.Core.Volumes;

namespace EmMask.Remote;

/// <summary>
/// A memory-mapped file shared by the client and the worker: the input volume in its own element type (uint8, uint16 or
/// float32, so that the worker masks exactly what the caller has), then the float32 output, both C order. It lives in
/// /dev/shm where available (RAM, no disk I/O), else the temp folder. Named shared memory
/// (<c>MemoryMappedFile.CreateNew(name)</c>) is Windows-only in .NET, so a file path is the portable name.
/// </summary>
public sealed unsafe class SharedVolumeFile : IDisposable
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly bool _owner;
    private byte* _pointer;

    private SharedVolumeFile(string path, Shape3 shape, VoxelType inputType, MemoryMappedFile map, bool owner)
    {
        Path = path;
        Shape = shape;
        InputType = inputType;
        _map = map;
        _owner = owner;
        _view = map.CreateViewAccessor(0, ByteLength(shape, inputType));
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref _pointer);
        _pointer += _view.PointerOffset;
    }

    /// <summary>The file's path; the worker opens it by this name.</summary>
    public string Path { get; }

    /// <summary>Shape of the input and of the output.</summary>
    public Shape3 Shape { get; }

    /// <summary>Element type of the input region.</summary>
    public VoxelType InputType { get; }

    /// <summary>The input region as a volume of its element type over the mapped memory (no copy; valid until dispose).</summary>
    public IVolume Input => InputType switch
    {
        VoxelType.UInt8 => Volume<byte>.Wrap((IntPtr)_pointer, Shape),
        VoxelType.UInt16 => Volume<ushort>.Wrap((IntPtr)_pointer, Shape),
        _ => Volume<float>.Wrap((IntPtr)_pointer, Shape),
    };

    /// <summary>The output region (float32) as a volume over the mapped memory (no copy; valid until dispose).</summary>
    public Volume<float> Output => Volume<float>.Wrap((IntPtr)(_pointer + OutputOffset(Shape, InputType)), Shape);

    /// <summary>Creates a new file sized for <paramref name="shape"/> and an input of <paramref name="inputType"/> (client side); deleted on dispose.</summary>
    public static SharedVolumeFile Create(Shape3 shape, VoxelType inputType = VoxelType.Float32)
    {
        string dir = Directory.Exists("/dev/shm") ? "/dev/shm" : System.IO.Path.GetTempPath();
        string path = System.IO.Path.Combine(dir, $"emmask-{Environment.ProcessId}-{Guid.NewGuid():N}.f32");
        var map = MemoryMappedFile.CreateFromFile(path, FileMode.CreateNew, null, Math.Max(1, ByteLength(shape, inputType)), MemoryMappedFileAccess.ReadWrite);
        try
        {
            return new SharedVolumeFile(path, shape, inputType, map, owner: true);
        }
        catch
        {
            map.Dispose();
            File.Delete(path);
            throw;
        }
    }

    /// <summary>Opens a file the client created (worker side).</summary>
    public static SharedVolumeFile Open(string path, Shape3 shape, VoxelType inputType = VoxelType.Float32)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Shared volume file not found: {path}", path);
        }

        long expected = ByteLength(shape, inputType);
        long actual = new FileInfo(path).Length;
        if (actual < expected)
        {
            throw new ArgumentException($"Shared volume file {path} holds {actual} bytes but shape {shape} needs {expected}.", nameof(shape));
        }

        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.ReadWrite);
        return new SharedVolumeFile(path, shape, inputType, map, owner: false);
    }

    /// <summary>
    /// Deletes shared files left by client processes that died mid-request (the name carries the creator's pid),
    /// so a crashed napari session does not leak RAM in /dev/shm. Best effort; never throws.
    /// </summary>
    public static void SweepStale()
    {
        try
        {
            string dir = Directory.Exists("/dev/shm") ? "/dev/shm" : System.IO.Path.GetTempPath();
            foreach (string file in Directory.EnumerateFiles(dir, "emmask-*-*.f32"))
            {
                string[] parts = System.IO.Path.GetFileName(file).Split('-');
                if (parts.Length == 3 && int.TryParse(parts[1], out int pid) && !IsAlive(pid))
                {
                    File.Delete(file);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Someone else's file or a race with its owner: leave it.
        }
    }

    /// <summary>Bytes needed for the input and the output.</summary>
    public static long ByteLength(Shape3 shape, VoxelType inputType = VoxelType.Float32) => OutputOffset(shape, inputType) + (shape.Length * sizeof(float));

    /// <summary>The output's offset: after the input, aligned to 64 bytes.</summary>
    private static long OutputOffset(Shape3 shape, VoxelType inputType)
    {
        long input = shape.Length * (inputType switch { VoxelType.UInt8 => 1, VoxelType.UInt16 => 2, _ => 4 });
        return (input + 63) / 64 * 64;
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_pointer != null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _pointer = null;
        }

        _view.Dispose();
        _map.Dispose();
        if (_owner)
        {
            try
            {
                File.Delete(Path);
            }
            catch (IOException)
            {
                // A leftover file in /dev/shm is harmless; never mask the real outcome of the request.
            }
        }
    }
}
