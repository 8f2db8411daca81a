using PureHDF.Filters;

namespace EmMask.IO.Formats;

/// <summary>
/// The LZF filter (HDF5 filter 32000), which h5py writes with <c>compression="lzf"</c>, for reading: PureHDF decodes only
/// the HDF Group's own filters and deflate. The format is liblzf's (Marc Lehmann): a control byte below 32 starts a
/// literal run of that many bytes plus one; any other starts a back reference of length (ctrl &gt;&gt; 5) + 2 (7 and more take
/// one more length byte) to the offset ((ctrl &amp; 31) &lt;&lt; 8) + next byte + 1 behind the output. h5py stores the chunk's
/// uncompressed size as the filter's third parameter, and a chunk that LZF does not shrink as it is. Writing LZF is not
/// supported (EM Mask writes deflate).
/// </summary>
internal sealed class LzfFilter : IH5Filter
{
    /// <summary>The filter's registered identifier.</summary>
    public const ushort Id = 32000;

    /// <inheritdoc/>
    public ushort FilterId => Id;

    /// <inheritdoc/>
    public string Name => "lzf";

    /// <inheritdoc/>
    public Memory<byte> Filter(FilterInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (!info.Flags.HasFlag(H5FilterFlags.Decompress))
        {
            throw new NotSupportedException("LZF compression is not supported for writing; EM Mask writes deflate (gzip).");
        }

        int size = info.Parameters.Length > 2 && info.Parameters[2] > 0 ? (int)info.Parameters[2] : info.ChunkSize;
        var output = new byte[size];
        if (info.Buffer.Length >= size)
        {
            // h5py's filter is optional: a chunk that LZF does not shrink is stored as it is (the chunk's filter mask
            // says so, which PureHDF does not pass on). Such a chunk has the full size; LZF data of the full size that
            // decodes to exactly that size is taken as LZF, anything else as the stored chunk (copied: PureHDF reuses
            // the buffer it passed for the next chunk).
            try
            {
                if (Decompress(info.Buffer.Span, output) == size)
                {
                    return output;
                }
            }
            catch (InvalidDataException)
            {
            }

            info.Buffer.Span[..size].CopyTo(output);
            return output;
        }

        int written = Decompress(info.Buffer.Span, output);
        return output.AsMemory(0, written);
    }

    /// <inheritdoc/>
    public uint[] GetParameters(uint[] chunkDimensions, uint typeSize, Dictionary<string, object>? options) =>
        throw new NotSupportedException("LZF compression is not supported for writing; EM Mask writes deflate (gzip).");

    /// <summary>Decodes LZF <paramref name="input"/> into <paramref name="output"/>; returns the bytes written.</summary>
    /// <exception cref="InvalidDataException">The data is not valid LZF or decodes to more than <paramref name="output"/> holds.</exception>
    public static int Decompress(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int ip = 0, op = 0;
        while (ip < input.Length)
        {
            int ctrl = input[ip++];
            if (ctrl < 32)
            {
                int run = ctrl + 1;
                if (ip + run > input.Length || op + run > output.Length)
                {
                    throw new InvalidDataException("corrupt LZF data (a literal run past the end).");
                }

                input.Slice(ip, run).CopyTo(output[op..]);
                ip += run;
                op += run;
                continue;
            }

            int length = ctrl >> 5;
            if (length == 7)
            {
                length += ip < input.Length ? input[ip++] : throw new InvalidDataException("corrupt LZF data (truncated length).");
            }

            if (ip >= input.Length)
            {
                throw new InvalidDataException("corrupt LZF data (truncated reference).");
            }

            int reference = op - ((ctrl & 0x1f) << 8) - 1 - input[ip++];
            length += 2;
            if (reference < 0 || op + length > output.Length)
            {
                throw new InvalidDataException("corrupt LZF data (a reference outside the output).");
            }

            for (int k = 0; k < length; k++)
            {
                output[op++] = output[reference++]; // byte by byte: a reference may overlap what it writes
            }
        }

        return op;
    }
}
