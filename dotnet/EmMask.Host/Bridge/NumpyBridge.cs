using System.Diagnostics;
using EmMask.Core.Volumes;

namespace EmMask.Host.Bridge;

/// <summary>
/// Entry points the napari plugin calls through pythonnet. Arrays arrive as plain numbers (address, shape, byte
/// strides, dtype string) so that no Python object is touched here: pythonnet releases the GIL around every call,
/// and Python can poll the <see cref="BridgeJob"/> or cancel it from another thread meanwhile. Outputs are buffers
/// Python allocated and .NET fills. No method throws; failures come back as a <see cref="BridgeResult"/>.
/// </summary>
public static partial class NumpyBridge
{
    /// <summary>
    /// Wraps an array exactly as the real entry points do and returns the sum of its voxels, so Python can check
    /// that .NET reads the right memory (strides, dtype) and where (<see cref="BridgeJob.InputAddress"/>).
    /// </summary>
    public static BridgeResult Inspect(long address, long[] shape, long[] strides, string dtype, BridgeJob job) =>
        BridgeResult.Guard(() =>
        {
            ArgumentNullException.ThrowIfNull(job);
            IVolume volume = new NumpyArray(address, shape, strides, dtype).ToVolume(VoxelSize.Isotropic, job);
            double sum = volume switch
            {
                Volume<byte> v => Sum(v.Span),
                Volume<ushort> v => Sum(v.Span),
                Volume<float> v => Sum(v.Span),
                _ => double.NaN,
            };
            return BridgeResult.Success(sum);
        });

    /// <summary>
    /// Runs <paramref name="body"/> as the core computation of a call, timing it into
    /// <see cref="BridgeJob.CoreSeconds"/> so the bridge's own overhead can be measured.
    /// </summary>
    internal static TResult TimeCore<TResult>(BridgeJob job, Func<TResult> body)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            return body();
        }
        finally
        {
            job.CoreSeconds += watch.Elapsed.TotalSeconds;
        }
    }

    private static double Sum<T>(ReadOnlySpan<T> values)
        where T : unmanaged, System.Numerics.INumberBase<T>
    {
        // Accumulate in double, as everywhere in the core.
        double sum = 0;
        foreach (T value in values)
        {
            sum += double.CreateTruncating(value);
        }

        return sum;
    }
}
