using System.Buffers;

namespace EmMask.Core.Filters;

/// <summary>One unit of line work (a row, a column block or a slice); runs on any worker with that worker's scratch.</summary>
internal interface ILineOperation
{
    void Invoke(int index, LineScratch scratch);
}

/// <summary>
/// The one scheduler all filters share: runs independent units of line work in parallel. Every unit computes its
/// outputs with the same arithmetic whichever worker runs it, so results are identical for any thread count.
/// </summary>
internal static class ParallelLines
{
    private static readonly AsyncLocal<int?> DegreeOverride = new();

    /// <summary>Workers used by the calling flow: <see cref="Environment.ProcessorCount"/> unless limited.</summary>
    public static int Degree => DegreeOverride.Value ?? Environment.ProcessorCount;

    /// <summary>Limits the workers used by filters called from this flow until the scope is disposed (tests, callers that run several filters side by side).</summary>
    public static IDisposable LimitDegree(int degree)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(degree, 1);
        int? previous = DegreeOverride.Value;
        DegreeOverride.Value = degree;
        return new Restore(previous);
    }

    /// <summary>Runs <paramref name="operation"/> for every index in [0, count); throws <see cref="OperationCanceledException"/> when cancelled.</summary>
    public static void For<T>(int count, T operation, CancellationToken cancellationToken)
        where T : struct, ILineOperation
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (count <= 0)
        {
            return;
        }

        int degree = Math.Min(Degree, count);
        if (degree == 1)
        {
            using var scratch = new LineScratch();
            for (int i = 0; i < count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                operation.Invoke(i, scratch);
            }

            return;
        }

        var options = new ParallelOptions { MaxDegreeOfParallelism = degree, CancellationToken = cancellationToken };
        Parallel.For(
            0,
            count,
            options,
            static () => new LineScratch(),
            (i, _, scratch) =>
            {
                operation.Invoke((int)i, scratch);
                return scratch;
            },
            static scratch => scratch.Dispose());
    }

    private sealed class Restore(int? previous) : IDisposable
    {
        public void Dispose() => DegreeOverride.Value = previous;
    }
}

/// <summary>Per-worker scratch buffers rented from <see cref="ArrayPool{T}"/> once per worker and call, so hot loops never allocate.</summary>
internal sealed class LineScratch : IDisposable
{
    private float[] block = [];
    private float[] copy = [];
    private float[] secondCopy = [];
    private float[] line = [];
    private double[] accumulator = [];
    private nint[] rows = [];

    /// <summary>Holds a copy of input lines when the filter runs in place.</summary>
    public float[] Copy(int length) => Ensure(ref copy, length);

    /// <summary>Holds a copy of a second input when a paired filter runs in place.</summary>
    public float[] SecondCopy(int length) => Ensure(ref secondCopy, length);

    /// <summary>Holds intermediate rows of a fused pass.</summary>
    public float[] Block(int length) => Ensure(ref block, length);

    /// <summary>Holds one padded line.</summary>
    public float[] Line(int length) => Ensure(ref line, length);

    /// <summary>Running sums in double.</summary>
    public double[] Accumulator(int length) => Ensure(ref accumulator, length);

    /// <summary>Row addresses of a padded stack of rows.</summary>
    public nint[] Rows(int length) => Ensure(ref rows, length);

    public void Dispose()
    {
        Return(ref block);
        Return(ref copy);
        Return(ref secondCopy);
        Return(ref line);
        Return(ref accumulator);
        Return(ref rows);
    }

    private static T[] Ensure<T>(ref T[] array, int length)
    {
        if (array.Length < length)
        {
            Return(ref array);
            array = ArrayPool<T>.Shared.Rent(length);
        }

        return array;
    }

    private static void Return<T>(ref T[] array)
    {
        if (array.Length > 0)
        {
            ArrayPool<T>.Shared.Return(array);
        }

        array = [];
    }
}
