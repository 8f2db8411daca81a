using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using EmMask.Core.Volumes;

namespace EmMask.IO.Formats;

/// <summary>
/// Writes a volume handed out row by row as a Zarr v2 array (the form <see cref="ChunkedArray"/> reads, and zarr-python,
/// dask, napari, tensorstore and neuroglancer open): C order, gzip-compressed chunks of
/// <see cref="ChunkDepth"/> × 256 × 256 voxels (one section: 512 × 512), keys joined by '.', the text attributes and the
/// voxel size (<c>resolution</c>, nm, z/y/x) in <c>.zattrs</c>, the input's stored shape where it has axes of length 1
/// (<see cref="VolumeWriteOptions.DimensionsFor"/>). The array is written into a hidden folder beside the target and
/// moved into place by <see cref="Commit"/>, so a failure or cancellation leaves any existing array as it was. Rows
/// are asked for in bands one chunk deep (<see cref="VolumeWriter.RowReach"/>), so at most one chunk row of a band is
/// held.
/// </summary>
internal static class ZarrWriter
{
    /// <summary>Sections per chunk (as a compressed HDF5 dataset's, so that block-wise runs align to both).</summary>
    public const int ChunkDepth = Hdf5Writer.ChunkDepth;

    private const int ChunkSide = 256;
    private const int SectionChunkSide = 512;

    /// <summary>Writes the array into a new hidden folder beside <paramref name="folder"/> and returns that folder.</summary>
    public static string WriteTemp<T>(string folder, IRowSource<T> rows, VolumeWriteOptions options, CancellationToken ct)
        where T : unmanaged
    {
        string full = Path.GetFullPath(Path.TrimEndingDirectorySeparator(folder));
        string parent = Path.GetDirectoryName(full) ?? ".";
        if (!Directory.Exists(parent))
        {
            throw new VolumeFormatException($"{folder}: cannot write, directory '{parent}' does not exist.");
        }

        string temp = Path.Combine(parent, $".{Path.GetFileName(full)}{AtomicFile.TempMarker}{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(temp);
            Write(temp, rows, options, ct);
            return temp;
        }
        catch (Exception ex)
        {
            Discard(temp);
            if (ex is IOException or UnauthorizedAccessException)
            {
                throw new VolumeFormatException($"{folder}: cannot write ({AtomicFile.OneLine(ex.Message)}).", ex);
            }

            throw;
        }
    }

    /// <summary>Moves a written array onto <paramref name="folder"/>, replacing an existing one (the caller checked Force).</summary>
    public static void Commit(string temp, string folder)
    {
        string full = Path.GetFullPath(Path.TrimEndingDirectorySeparator(folder));
        string? old = null;
        try
        {
            if (Directory.Exists(full))
            {
                old = Path.Combine(Path.GetDirectoryName(full) ?? ".", $".{Path.GetFileName(full)}.old-{Guid.NewGuid():N}");
                Directory.Move(full, old);
            }

            Directory.Move(temp, full);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            if (old is not null && !Directory.Exists(full))
            {
                Directory.Move(old, full); // the old array back in place
                old = null;
            }

            Discard(temp);
            throw new VolumeFormatException($"{folder}: cannot write ({AtomicFile.OneLine(ex.Message)}).", ex);
        }

        if (old is not null)
        {
            Discard(old);
        }
    }

    /// <summary>Deletes a written but uncommitted array.</summary>
    public static void Discard(string temp)
    {
        try
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // a leftover hidden folder is harmless; the next write to the target uses a new name
        }
    }

    private static void Write<T>(string folder, IRowSource<T> rows, VolumeWriteOptions options, CancellationToken ct)
        where T : unmanaged
    {
        var shape = rows.Shape;
        var axes = StoredAxes.Of(options.DimensionsFor(shape))!;
        bool section = axes.Spatial.Length == 2;
        var chunk = section
            ? new Shape3(1, Math.Min(shape.Y, SectionChunkSide), Math.Min(shape.X, SectionChunkSide))
            : new Shape3(Math.Min(shape.Z, ChunkDepth), Math.Min(shape.Y, ChunkSide), Math.Min(shape.X, ChunkSide));
        string dtype = typeof(T) == typeof(byte) ? "|u1" : typeof(T) == typeof(ushort) ? "<u2" : typeof(T) == typeof(float) ? "<f4"
            : typeof(T) == typeof(int) ? "<i4" : throw new VolumeFormatException($"Zarr output holds uint8, uint16, float32 or int32, not {typeof(T).Name}.");
        var meta = new JsonObject
        {
            ["zarr_format"] = 2,
            ["shape"] = new JsonArray([.. axes.Stored.Select(d => (JsonNode?)d)]),
            ["chunks"] = new JsonArray([.. axes.Region((0, 0, 0), (chunk.Z, chunk.Y, chunk.X)).Counts.Select(c => (JsonNode?)(long)c)]),
            ["dtype"] = dtype,
            ["compressor"] = new JsonObject { ["id"] = "gzip", ["level"] = 1 },
            ["fill_value"] = 0,
            ["order"] = "C",
            ["filters"] = null,
            ["dimension_separator"] = ".",
        };
        File.WriteAllText(Path.Combine(folder, ".zarray"), meta.ToJsonString());
        var attributes = new JsonObject();
        foreach (var (key, value) in options.Attributes)
        {
            attributes[key] = value;
        }

        if (rows.VoxelSize != VoxelSize.Isotropic)
        {
            var v = rows.VoxelSize;
            attributes["resolution"] = section ? new JsonArray(v.Y, v.X) : new JsonArray(v.Z, v.Y, v.X);
        }

        File.WriteAllText(Path.Combine(folder, ".zattrs"), attributes.ToJsonString());

        // Bands one chunk deep and one chunk high over the full width; each band's chunks are complete when written.
        var band = new T[chunk.Z * chunk.Y * shape.X];
        var block = new T[chunk.Length];
        var index = new long[axes.Stored.Length];
        int[] s = axes.Spatial;
        for (int z0 = 0; z0 < shape.Z; z0 += chunk.Z)
        {
            int nz = Math.Min(chunk.Z, shape.Z - z0);
            for (int y0 = 0; y0 < shape.Y; y0 += chunk.Y)
            {
                ct.ThrowIfCancellationRequested();
                int ny = Math.Min(chunk.Y, shape.Y - y0);
                for (int z = 0; z < nz; z++)
                {
                    for (int y = 0; y < ny; y++)
                    {
                        rows.CopyRow(z0 + z, y0 + y, band.AsSpan(((z * chunk.Y) + y) * shape.X, shape.X));
                    }
                }

                for (int x0 = 0; x0 < shape.X; x0 += chunk.X)
                {
                    int nx = Math.Min(chunk.X, shape.X - x0);
                    Array.Clear(block); // edge chunks are stored whole, padded with the fill value
                    for (int z = 0; z < nz; z++)
                    {
                        for (int y = 0; y < ny; y++)
                        {
                            band.AsSpan((((z * chunk.Y) + y) * shape.X) + x0, nx).CopyTo(block.AsSpan(((z * chunk.Y) + y) * chunk.X, nx));
                        }
                    }

                    if (section)
                    {
                        index[s[0]] = y0 / chunk.Y;
                        index[s[1]] = x0 / chunk.X;
                    }
                    else
                    {
                        index[s[0]] = z0 / chunk.Z;
                        index[s[1]] = y0 / chunk.Y;
                        index[s[2]] = x0 / chunk.X;
                    }

                    using var file = new FileStream(Path.Combine(folder, string.Join('.', index)), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                    using (var gzip = new GZipStream(file, CompressionLevel.Fastest, leaveOpen: true))
                    {
                        gzip.Write(MemoryMarshal.AsBytes(block.AsSpan()));
                    }

                }
            }
        }
    }
}
