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

    public override void ConvolveRows(float** rows, int count, int width, float* output, long outputStride, LineScratch scratch)
    {
        int size = Size;
        double divisor = size;
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

            Emit(acc, width, vectorEnd, divisor, output);

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

                Emit(acc, width, vectorEnd, divisor, output + (i * outputStride));
            }
        }
    }

    public override void ConvolveLine(float* padded, int count, float* output)
    {
        int size = Size;
        double divisor = size;
        double acc = 0;
        for (int j = 0; j < size; j++)
        {
            acc += padded[j];
        }

        output[0] = (float)(acc / divisor);
        for (int i = 1; i < count; i++)
        {
            acc += (double)padded[i + size - 1] - padded[i - 1];
            output[i] = (float)(acc / divisor);
        }
    }

    private static void Emit(double* acc, int width, int vectorEnd, double divisor, float* output)
    {
        int lanes = Vector<float>.Count;
        int dl = Vector<double>.Count;
        var d = new Vector<double>(divisor);
        for (int x = 0; x < vectorEnd; x += lanes)
        {
            Vector.Narrow(Vector.Load(acc + x) / d, Vector.Load(acc + x + dl) / d).Store(output + x);
        }

        for (int x = vectorEnd; x < width; x++)
        {
            output[x] = (float)(acc[x] / divisor);
        }
    }
}
