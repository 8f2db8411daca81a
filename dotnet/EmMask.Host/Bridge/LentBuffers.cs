using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using EmMask.Core.Volumes;

namespace EmMask.Host.Bridge;

/// <summary>
/// Result volumes lent to Python as numpy buffers without a copy: the managed array is pinned and its address
/// handed out with an id; Python releases the id when the numpy array that wraps it is garbage-collected.
/// Copying a 256³ mask + confidence into fresh numpy memory costs 50 ms to over a second on a busy machine
/// (first-touch page faults), while the masker's own arrays are already in memory.
/// </summary>
public static class LentBuffers
{
    private static readonly ConcurrentDictionary<long, GCHandle> Handles = new();
    private static long nextId;

    /// <summary>Number of buffers currently lent (diagnostics and tests).</summary>
    public static int Count => Handles.Count;

    /// <summary>Releases a lent buffer; unknown or already released ids are ignored.</summary>
    public static void Release(long id)
    {
        if (Handles.TryRemove(id, out var handle))
        {
            handle.Free();
        }
    }

    /// <summary>Pins the volume's backing array (copying into a new pinned array if it has none) and returns (id, address).</summary>
    internal static (long Id, long Address) Lend<T>(Volume<T> volume)
        where T : unmanaged
    {
        T[] array;
        if (MemoryMarshal.TryGetArray<T>(volume.Memory, out var segment) && segment.Array is { } backing &&
            segment.Offset == 0 && segment.Count == backing.Length)
        {
            array = backing;
        }
        else
        {
            array = GC.AllocateUninitializedArray<T>(volume.Memory.Length, pinned: true);
            volume.Memory.Span.CopyTo(array);
        }

        var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
        long id = Interlocked.Increment(ref nextId);
        Handles[id] = handle;
        return (id, (long)handle.AddrOfPinnedObject());
    }
}
