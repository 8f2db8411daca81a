using System.Buffers.Binary;
using System.IO.Compression;
using K4os.Compression.LZ4;

namespace EmMask.IO.Formats;

/// <summary>
/// Decompresses a Blosc 1 buffer (zarr v2's default compressor, numcodecs' <c>Blosc</c>): a 16-byte header (format
/// version, flags, type size, sizes), the offsets of its blocks, and each block as one stream or, where it was split, one
/// stream per byte of the type, each compressed by LZ4 / LZ4HC, zlib or Zstandard (or stored), then byte-unshuffled.
/// Buffers stored whole (the memcpy flag) are copied. BloscLZ, Snappy and bit-shuffle are refused with a message naming
/// a compressor that is read.
/// </summary>
internal static class BloscFrame
{
    private const int HeaderBytes = 16;
    private const int MaxSplits = 16;
    private const int MinBufferSize = 128;

    /// <summary>The uncompressed bytes of <paramref name="source"/>.</summary>
    /// <exception cref="VolumeFormatException">A corrupt buffer or an unsupported codec; <paramref name="where"/> names it.</exception>
    public static byte[] Decompress(ReadOnlySpan<byte> source, string where)
    {
        if (source.Length < HeaderBytes || source[0] is < 1 or > 2)
        {
            throw new VolumeFormatException($"{where}: not a Blosc buffer.");
        }

        byte flags = source[2];
        int typeSize = source[3];
        int size = BinaryPrimitives.ReadInt32LittleEndian(source[4..]);
        int blockSize = BinaryPrimitives.ReadInt32LittleEndian(source[8..]);
        int compressedSize = BinaryPrimitives.ReadInt32LittleEndian(source[12..]);
        if (size < 0 || compressedSize > source.Length || compressedSize < HeaderBytes || typeSize <= 0)
        {
            throw new VolumeFormatException($"{where}: corrupt Blosc header.");
        }

        var output = new byte[size];
        if (size == 0)
        {
            return output;
        }

        if ((flags & 0x02) != 0) // stored as it is
        {
            if (compressedSize < HeaderBytes + size)
            {
                throw new VolumeFormatException($"{where}: truncated Blosc buffer.");
            }

            source.Slice(HeaderBytes, size).CopyTo(output);
            return output;
        }

        if ((flags & 0x04) != 0)
        {
            throw new VolumeFormatException($"{where}: Blosc bit-shuffle is not supported; re-save the array with shuffle=Blosc.SHUFFLE or NOSHUFFLE (numcodecs).");
        }

        int codec = flags >> 5;
        if (codec is not (1 or 3 or 4))
        {
            string name = codec switch { 0 => "blosclz", 2 => "snappy", _ => $"codec {codec}" };
            throw new VolumeFormatException($"{where}: Blosc's {name} is not supported; re-save the array with Blosc cname 'lz4' (zarr's default), 'zstd' or 'zlib'.");
        }

        if (blockSize <= 0)
        {
            throw new VolumeFormatException($"{where}: corrupt Blosc header.");
        }

        bool shuffle = (flags & 0x01) != 0 && typeSize > 1;
        bool dontSplit = (flags & 0x10) != 0;
        int blocks = (size + blockSize - 1) / blockSize;
        var scratch = new byte[blockSize];
        for (int b = 0; b < blocks; b++)
        {
            int start = BinaryPrimitives.ReadInt32LittleEndian(source[(HeaderBytes + (4 * b))..]);
            int length = Math.Min(blockSize, size - (b * blockSize));
            bool leftover = length < blockSize;
            int splits = !dontSplit && typeSize <= MaxSplits && blockSize / typeSize >= MinBufferSize && !leftover ? typeSize : 1;
            var target = output.AsSpan(b * blockSize, length);
            var decoded = shuffle ? scratch.AsSpan(0, length) : target;
            int split = length / splits;
            int at = start;
            for (int s = 0; s < splits; s++)
            {
                if (at < 0 || at + 4 > compressedSize)
                {
                    throw new VolumeFormatException($"{where}: corrupt Blosc block offsets.");
                }

                int streamBytes = BinaryPrimitives.ReadInt32LittleEndian(source[at..]);
                at += 4;
                if (streamBytes < 0 || at + streamBytes > compressedSize)
                {
                    throw new VolumeFormatException($"{where}: truncated Blosc buffer.");
                }

                var stream = source.Slice(at, streamBytes);
                var into = decoded.Slice(s * split, split);
                if (streamBytes == split)
                {
                    stream.CopyTo(into);
                }
                else if (Decode(codec, stream, into) != split)
                {
                    throw new VolumeFormatException($"{where}: corrupt Blosc stream (block {b}).");
                }

                at += streamBytes;
            }

            if (shuffle)
            {
                Unshuffle(decoded, target, typeSize);
            }
        }

        return output;
    }

    // The bytes one codec decodes from a stream into a span of known size.
    private static int Decode(int codec, ReadOnlySpan<byte> stream, Span<byte> into)
    {
        switch (codec)
        {
            case 1:
                return LZ4Codec.Decode(stream, into);
            case 4:
                using (var zstd = new ZstdSharp.Decompressor())
                {
                    return zstd.Unwrap(stream, into);
                }

            default:
                using (var zlib = new ZLibStream(new MemoryStream(stream.ToArray()), CompressionMode.Decompress))
                {
                    return zlib.ReadAtLeast(into, into.Length, throwOnEndOfStream: false);
                }
        }
    }

    // Byte-unshuffle: byte j of element i was stored at j · count + i; a remainder shorter than one element is as it was.
    private static void Unshuffle(ReadOnlySpan<byte> shuffled, Span<byte> target, int typeSize)
    {
        int count = shuffled.Length / typeSize;
        for (int j = 0; j < typeSize; j++)
        {
            var plane = shuffled.Slice(j * count, count);
            for (int i = 0; i < count; i++)
            {
                target[(i * typeSize) + j] = plane[i];
            }
        }

        shuffled[(count * typeSize)..].CopyTo(target[(count * typeSize)..]);
    }
}
