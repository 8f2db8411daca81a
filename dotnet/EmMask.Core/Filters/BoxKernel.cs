using System.Runtime.CompilerServices;
using System.Numerics;

namespace EmMask.Core.Filters;

/// <summary>
/// scipy's <c>uniform_filter1d</c>: the mean of <c>size</c> samples, window [i - size/2, i + size - size/2 - 1]
/// (even sizes lean left, as in scipy). Running sums make the cost independent of the size; they are kept in double
/// as scipy does, so long lines do not drift.
/// </summary>
internal sealed unsafe class BoxKernel(int size) : AxisKernel
{
    public int Size { get; } = size;

    public override int Before => Size / 2;

    public override int After => Size - (Size / 2) - 1;

    public override bool IsIdentity => Size == 1;

    public override bool PreservesConstants => true;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void ConvolveRows(float** rows, int count, int width, float* output, long outputStride, LineScratch scratch)
    {
        int size = Size;
        double scale = 1.0 / size;
        fixed (double* acc = scratch.Accumulator(width))
        {
            int lanes = Vector<float>.Count;
            int dl = Vector<double>.Count;
            int vectorEnd = width - (width % lanes);

            // First output: the plain sum of the first window.
            new Span<double>(acc, width).Clear();
            for (int j = 0; j < size; j++)
            {
                float* row = rows[j];
                for (int x = 0; x < vectorEnd; x += lanes)
                {
                    Vector.Widen(Vector.Load(row + x), out var lo, out var hi);
                    (Vector.Load(acc + x) + lo).Store(acc + x);
                    (Vector.Load(acc + x + dl) + hi).Store(acc + x + dl);
                }

                for (int x = vectorEnd; x < width; x++)
                {
                    acc[x] += row[x];
                }
            }

            Emit(acc, width, vectorEnd, scale, output);

            // Later outputs: add the sample entering the window, drop the one leaving it.
            for (int i = 1; i < count; i++)
            {
                float* enter = rows[i + size - 1];
                float* leave = rows[i - 1];
                for (int x = 0; x < vectorEnd; x += lanes)
                {
                    Vector.Widen(Vector.Load(enter + x), out var elo, out var ehi);
                    Vector.Widen(Vector.Load(leave + x), out var llo, out var lhi);
                    (Vector.Load(acc + x) + (elo - llo)).Store(acc + x);
                    (Vector.Load(acc + x + dl) + (ehi - lhi)).Store(acc + x + dl);
                }

                for (int x = vectorEnd; x < width; x++)
                {
                    acc[x] += (double)enter[x] - leave[x];
                }

                Emit(acc, width, vectorEnd, scale, output + (i * outputStride));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void ConvolveLine(float* padded, int count, float* output)
    {
        // A running sum is one long chain of dependent adds; four independent quarters of the line keep the
        // floating-point adder busy. The split depends only on the line length, so results are reproducible.
        if (count < 64)
        {
            RunningMean(padded, 0, count, output);
            return;
        }

        int size = Size;
        double scale = 1.0 / size;
        int quarter = count / 4;
        int b1 = quarter, b2 = 2 * quarter, b3 = 3 * quarter;
        double a0 = WindowSum(padded, 0), a1 = WindowSum(padded, b1), a2 = WindowSum(padded, b2), a3 = WindowSum(padded, b3);
        output[0] = (float)(a0 * scale);
        output[b1] = (float)(a1 * scale);
        output[b2] = (float)(a2 * scale);
        output[b3] = (float)(a3 * scale);
        float* enter = padded + size - 1;
        float* leave = padded - 1;
        for (int i = 1; i < quarter; i++)
        {
            a0 += (double)enter[i] - leave[i];
            a1 += (double)enter[b1 + i] - leave[b1 + i];
            a2 += (double)enter[b2 + i] - leave[b2 + i];
            a3 += (double)enter[b3 + i] - leave[b3 + i];
            output[i] = (float)(a0 * scale);
            output[b1 + i] = (float)(a1 * scale);
            output[b2 + i] = (float)(a2 * scale);
            output[b3 + i] = (float)(a3 * scale);
        }

        for (int i = b3 + quarter; i < count; i++)
        {
            a3 += (double)enter[i] - leave[i];
            output[i] = (float)(a3 * scale);
        }
    }

    /// <summary>Sum of the window whose first output is <paramref name="start"/>, in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private double WindowSum(float* padded, int start)
    {
        double acc = 0;
        for (int j = 0; j < Size; j++)
        {
            acc += padded[start + j];
        }

        return acc;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunningMean(float* padded, int start, int end, float* output)
    {
        int size = Size;
        double scale = 1.0 / size;
        double acc = WindowSum(padded, start);
        output[start] = (float)(acc * scale);
        for (int i = start + 1; i < end; i++)
        {
            acc += (double)padded[i + size - 1] - padded[i - 1];
            output[i] = (float)(acc * scale);
        }
    }

    // Multiplying by 1/size instead of dividing differs from scipy by at most an ulp of a double, far below float32.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Emit(double* acc, int width, int vectorEnd, double scale, float* output)
    {
        int lanes = Vector<float>.Count;
        int dl = Vector<double>.Count;
        var d = new Vector<double>(scale);
        for (int x = 0; x < vectorEnd; x += lanes)
        {
            Vector.Narrow(Vector.Load(acc + x) * d, Vector.Load(acc + x + dl) * d).Store(output + x);
        }

        for (int x = vectorEnd; x < width; x++)
        {
            output[x] = (float)(acc[x] * scale);
        }
    }
}
