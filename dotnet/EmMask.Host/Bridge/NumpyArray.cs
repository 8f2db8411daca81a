using EmMask.Core.Volumes;

namespace EmMask.Host.Bridge;

/// <summary>
/// A numpy array as Python describes it: data address, shape, byte strides and dtype string. Turning it into a
/// volume wraps the memory in place when it is C-contiguous (the normal case: no copy) and copies through a
/// <see cref="StridedView{T}"/> otherwise. The Python caller keeps the array alive for the whole call.
/// </summary>
internal readonly record struct NumpyArray(long Address, long[] Shape, long[] Strides, string Dtype)
{
    /// <summary>The (z, y, x) extent; a 2D (y, x) array is one slice.</summary>
    public Shape3 Shape3
    {
        get
        {
            ArgumentNullException.ThrowIfNull(Shape, "shape");
            return Shape3.FromDimensions(Shape);
        }
    }

    /// <summary>Byte strides in (z, y, x) order, with a synthetic z stride for 2D arrays.</summary>
    private (long Z, long Y, long X) Strides3()
    {
        ArgumentNullException.ThrowIfNull(Strides, "strides");
        if (Strides.Length != Shape.Length)
        {
            throw new ArgumentException($"Got {Strides.Length} strides for a {Shape.Length}D array.", "strides");
        }

        return Strides.Length == 3
            ? (Strides[0], Strides[1], Strides[2])
            : (Strides[0] * Shape[0], Strides[0], Strides[1]);
    }

    /// <summary>Wraps (or, for a non-contiguous array, copies) the input as a volume of its own dtype.</summary>
    public IVolume ToVolume(VoxelSize voxelSize, BridgeJob job)
    {
        ArgumentNullException.ThrowIfNull(Dtype, "dtype");
        return VoxelTypes.Parse(Dtype) switch
        {
            VoxelType.UInt8 => ToVolume<byte>(voxelSize, job),
            VoxelType.UInt16 => ToVolume<ushort>(voxelSize, job),
            VoxelType.Float32 => ToVolume<float>(voxelSize, job),
            _ => throw new NotSupportedException($"dtype '{Dtype}' is not supported; use uint8, uint16 or float32."),
        };
    }

    /// <summary>Wraps (or copies) the input as a volume of element type <typeparamref name="T"/>.</summary>
    public unsafe Volume<T> ToVolume<T>(VoxelSize voxelSize, BridgeJob? job)
        where T : unmanaged
    {
        if (VoxelTypes.Parse(Dtype) != VoxelTypes.Of<T>())
        {
            throw new ArgumentException($"Expected a {VoxelTypes.Of<T>().NumpyName()} array, got dtype '{Dtype}'.", "dtype");
        }

        var (sz, sy, sx) = Strides3();
        var view = new StridedView<T>((IntPtr)Address, Shape3, sz, sy, sx);
        Volume<T> volume;
        if (view.IsContiguous || view.Shape.IsEmpty)
        {
            volume = Volume<T>.Wrap((IntPtr)Address, Shape3, voxelSize);
        }
        else
        {
            // The core's volumes are dense C order; a strided numpy view (a slice, a transpose) is gathered once.
            volume = view.ToVolume(voxelSize);
            if (job is not null)
            {
                job.InputCopied = true;
            }
        }

        if (job is not null)
        {
            fixed (T* first = volume.Span)
            {
                job.InputAddress = (long)first;
            }
        }

        return volume;
    }

    /// <summary>Wraps a C-contiguous output buffer that Python allocated; it must match <paramref name="shape"/>.</summary>
    public static Volume<T> WrapOutput<T>(long address, Shape3 shape, VoxelSize voxelSize, string name)
        where T : unmanaged
    {
        if (address == 0 && !shape.IsEmpty)
        {
            throw new ArgumentNullException(name, $"The {name} buffer is missing.");
        }

        return Volume<T>.Wrap((IntPtr)address, shape, voxelSize);
    }

    /// <summary>
    /// Copies a result volume into a Python-owned C-contiguous buffer of the same shape. Fresh numpy buffers fault
    /// their pages in on first touch, which dominates the copy; copying in parallel chunks spreads those faults over
    /// the cores (an 80 MB mask + confidence copy drops from tens of ms to a few).
    /// </summary>
    public static void CopyToOutput<T>(Volume<T> source, long address, string name)
        where T : unmanaged
    {
        Volume<T> target = WrapOutput<T>(address, source.Shape, source.VoxelSize, name);
        const int chunk = 1 << 20; // elements
        int length = source.Memory.Length;
        int chunks = (length + chunk - 1) / chunk;
        Parallel.For(0, chunks, i =>
        {
            int start = i * chunk;
            int count = Math.Min(chunk, length - start);
            source.Memory.Span.Slice(start, count).CopyTo(target.Memory.Span.Slice(start, count));
        });
    }
}
