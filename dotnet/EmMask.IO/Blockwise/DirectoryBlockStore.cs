using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using EmMask.Core.Blockwise;
using EmMask.Core.Volumes;

namespace EmMask.IO.Blockwise;

/// <summary>
/// Finished blocks of a block-wise run, kept in a hidden directory beside the output (<c>.NAME.blocks</c>) until the
/// output is written: one zlib-compressed file per block, written atomically (<see cref="AtomicFile"/>), so a block
/// whose file exists is complete and a run killed mid-write leaves at most a temp file, removed on the next start.
/// A run that writes a confidence map keeps each block's float32 confidence beside its mask (<c>NAME.confidence</c>).
/// A manifest records what the run was (input, shape, method, options, grid, measured plan); <c>--resume</c> continues
/// only a run with the same manifest.
/// </summary>
public sealed class DirectoryBlockStore : IBlockStore, IConfidenceStore
{
    private const string ManifestName = "manifest.txt";
    private const int Magic = 0x4B424D45; // "EMBK"
    private const int ConfidenceMagic = 0x43424D45; // "EMBC"
    private const string MaskExtension = ".block";
    private const string ConfidenceExtension = ".confidence";

    private DirectoryBlockStore(string directory) => Directory = directory;

    /// <summary>The store's directory.</summary>
    public string Directory { get; }

    /// <summary>The store directory for an output file.</summary>
    public static string PathFor(string outputFile)
    {
        string full = Path.GetFullPath(outputFile);
        return Path.Combine(Path.GetDirectoryName(full) ?? ".", $".{Path.GetFileName(full)}.blocks");
    }

    /// <summary>
    /// Opens the store for a run described by <paramref name="manifest"/>. Without <paramref name="resume"/> the blocks of
    /// any earlier, unfinished run are removed; with it they are kept when the manifests agree.
    /// </summary>
    /// <param name="directory">The store (<see cref="PathFor"/>).</param>
    /// <param name="manifest">What this run is, one fact per line.</param>
    /// <param name="resume">Keep an earlier run's blocks when its manifest is the same.</param>
    /// <param name="note">What happened to an earlier run's blocks, or null.</param>
    /// <exception cref="VolumeFormatException">Resuming a run whose manifest differs (the differing line is named).</exception>
    public static DirectoryBlockStore Open(string directory, string manifest, bool resume, out string? note)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        note = null;
        string manifestPath = Path.Combine(directory, ManifestName);
        if (System.IO.Directory.Exists(directory))
        {
            string? earlier = File.Exists(manifestPath) ? File.ReadAllText(manifestPath) : null;
            int blocks = System.IO.Directory.EnumerateFiles(directory, "*" + MaskExtension).Count();
            if (resume && earlier is not null)
            {
                if (earlier != manifest)
                {
                    throw new VolumeFormatException($"cannot resume: the unfinished run in {directory} was a different job ({Difference(earlier, manifest)}); run without --resume to start over.");
                }

                var store = new DirectoryBlockStore(directory);
                store.RemoveTemps();
                note = $"resuming: {blocks} finished blocks kept from the earlier run";
                return store;
            }

            System.IO.Directory.Delete(directory, recursive: true);
            note = blocks > 0 || earlier is not null
                ? $"removed {blocks} blocks of an unfinished earlier run (--resume continues such a run)"
                : null;
        }
        else if (resume)
        {
            note = "--resume: no unfinished run to continue; starting from the first block";
        }

        System.IO.Directory.CreateDirectory(directory);
        AtomicFile.Write(manifestPath, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write(manifest);
        }, CancellationToken.None);
        return new DirectoryBlockStore(directory);
    }

    /// <summary>Removes the store (after the output was written).</summary>
    public void Delete()
    {
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }

    /// <inheritdoc/>
    public bool IsDone(BlockRegion block) => File.Exists(FileOf(block, MaskExtension));

    /// <inheritdoc/>
    public void Write(BlockRegion block, Volume<byte> core, CancellationToken ct) => WriteBlock(block, core, MaskExtension, Magic, ct);

    /// <inheritdoc/>
    public Volume<byte> Read(BlockRegion block, CancellationToken ct) => ReadBlock<byte>(block, MaskExtension, Magic);

    /// <inheritdoc/>
    public bool HasConfidence(BlockRegion block) => File.Exists(FileOf(block, ConfidenceExtension));

    /// <inheritdoc/>
    public void WriteConfidence(BlockRegion block, Volume<float> core, CancellationToken ct) => WriteBlock(block, core, ConfidenceExtension, ConfidenceMagic, ct);

    /// <inheritdoc/>
    public Volume<float> ReadConfidence(BlockRegion block, CancellationToken ct) => ReadBlock<float>(block, ConfidenceExtension, ConfidenceMagic);

    // A header (magic, core shape) and the core's bytes, zlib-compressed (float32 in this machine's byte order: the
    // store is read back by the run that wrote it, or one resuming it on the same machine).
    private void WriteBlock<T>(BlockRegion block, Volume<T> core, string extension, int magic, CancellationToken ct)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(block);
        ArgumentNullException.ThrowIfNull(core);
        AtomicFile.Write(FileOf(block, extension), stream =>
        {
            Span<byte> header = stackalloc byte[16];
            BinaryPrimitives.WriteInt32LittleEndian(header, magic);
            BinaryPrimitives.WriteInt32LittleEndian(header[4..], core.Shape.Z);
            BinaryPrimitives.WriteInt32LittleEndian(header[8..], core.Shape.Y);
            BinaryPrimitives.WriteInt32LittleEndian(header[12..], core.Shape.X);
            stream.Write(header);
            using var zlib = new ZLibStream(stream, CompressionLevel.Fastest, leaveOpen: true);
            zlib.Write(MemoryMarshal.AsBytes(core.Span));
        }, ct);
    }

    private Volume<T> ReadBlock<T>(BlockRegion block, string extension, int magic)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(block);
        string file = FileOf(block, extension);
        using var stream = File.OpenRead(file);
        Span<byte> header = stackalloc byte[16];
        stream.ReadExactly(header);
        var shape = new Shape3(
            BinaryPrimitives.ReadInt32LittleEndian(header[4..]),
            BinaryPrimitives.ReadInt32LittleEndian(header[8..]),
            BinaryPrimitives.ReadInt32LittleEndian(header[12..]));
        if (BinaryPrimitives.ReadInt32LittleEndian(header) != magic || shape != block.CoreSize)
        {
            throw new VolumeFormatException($"{file}: not a block of shape {block.CoreSize}; delete {Directory} and run again.");
        }

        var core = new Volume<T>(shape);
        using var zlib = new ZLibStream(stream, CompressionMode.Decompress);
        try
        {
            zlib.ReadExactly(MemoryMarshal.AsBytes(core.Span));
        }
        catch (Exception ex) when (ex is EndOfStreamException or InvalidDataException)
        {
            throw new VolumeFormatException($"{file}: damaged block file ({ex.Message}); delete it and run with --resume.", ex);
        }

        return core;
    }

    private string FileOf(BlockRegion block, string extension) => Path.Combine(Directory, block.Name + extension);

    private void RemoveTemps()
    {
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, "*" + AtomicFile.TempMarker + "*"))
        {
            File.Delete(file);
        }
    }

    private static string Difference(string earlier, string now)
    {
        var a = earlier.Split('\n');
        var b = now.Split('\n');
        for (int i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            string x = i < a.Length ? a[i] : "(none)", y = i < b.Length ? b[i] : "(none)";
            if (x != y)
            {
                return $"was '{x.Trim()}', now '{y.Trim()}'";
            }
        }

        return "manifests differ";
    }
}

/// <summary>A volume file read region by region (<see cref="VolumeReader.ReadBlock"/>: HDF5 hyperslabs, npy row seeks).</summary>
public sealed class FileBlockSource : IBlockSource
{
    private readonly VolumePath path;

    /// <summary>Opens the file's header (shape, voxel size); the data are read block by block.</summary>
    public FileBlockSource(VolumePath path, CancellationToken ct = default)
    {
        this.path = path ?? throw new ArgumentNullException(nameof(path));
        Shape = VolumeReader.ReadShape(path);
        VoxelSize = VolumeReader.ReadBlock(path, (0, 0, 0), new Shape3(1, 1, 1), ct).VoxelSize;
    }

    /// <inheritdoc/>
    public Shape3 Shape { get; }

    /// <inheritdoc/>
    public VoxelSize VoxelSize { get; }

    /// <inheritdoc/>
    public IVolume Read((int Z, int Y, int X) offset, Shape3 size, CancellationToken ct) => VolumeReader.ReadBlock(path, offset, size, ct);
}
