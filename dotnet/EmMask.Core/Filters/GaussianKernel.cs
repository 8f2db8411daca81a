using System.Runtime.CompilerServices;
using System.Numerics;

namespace EmMask.Core.Filters;

/// <summary>
/// scipy's 1D Gaussian (<c>scipy.ndimage._gaussian_kernel1d</c>): radius = int(truncate·σ + 0.5), weights
/// exp(-x²/2σ²) normalised to sum 1, and for order 1 the derivative -x/σ² times those weights. Order 0 kernels are
/// symmetric and order 1 kernels antisymmetric, so each tap pair costs one add and one fused multiply-add.
/// Accumulation is float32: each pass is rounded to float32 as scipy does for float32 data, and pairing keeps the
/// error near 1e-7 relative.
/// </summary>
internal sealed unsafe class GaussianKernel : AxisKernel
{
    /// <summary>Kernels longer than this are refused: their scratch buffers would not fit in memory.</summary>
    public const int MaxRadius = 1 << 20;

    private readonly float[] weights;
    private readonly bool antisymmetric;

    private GaussianKernel(double[] half, bool antisymmetric, int order)
    {
        weights = Array.ConvertAll(half, w => (float)w);
        this.antisymmetric = antisymmetric;
        Order = order;
        Radius = half.Length - 1;
    }

    /// <summary>Taps on each side of the centre.</summary>
    public int Radius { get; }

    /// <summary>Derivative order (0 or 1).</summary>
    public int Order { get; }

    public override int Before => Radius;

    public override int After => Radius;

    public override bool IsIdentity => Radius == 0 && Order == 0;

    public override bool PreservesConstants => Order == 0;

    /// <summary>The radius scipy uses: int(truncate·σ + 0.5).</summary>
    public static int RadiusFor(double sigma, double truncate)
    {
        double r = Math.Truncate((truncate * sigma) + 0.5);
        if (r > MaxRadius)
        {
            throw new ArgumentOutOfRangeException(nameof(sigma), sigma, $"Sigma {sigma:g} with truncate {truncate:g} gives a kernel radius above {MaxRadius} voxels.");
        }

        return (int)r;
    }

    /// <summary>The correlation weights for offsets -radius..radius, in double, exactly as scipy builds them.</summary>
    public static double[] CorrelationWeights(double sigma, int order, int radius)
    {
        double sigma2 = sigma * sigma;
        var phi = new double[(2 * radius) + 1];
        double sum = 0;
        for (int i = 0; i < phi.Length; i++)
        {
            double x = i - radius;
            phi[i] = Math.Exp(-0.5 / sigma2 * x * x);
            sum += phi[i];
        }

        for (int i = 0; i < phi.Length; i++)
        {
            phi[i] /= sum;
        }

        if (order == 0)
        {
            return phi;
        }

        // scipy's kernel is k(x) = -x/σ² φ(x) and it correlates with the reversed kernel, so the weight
        // at offset d is k(-d) = d/σ² φ(d): the output is a positive slope for an increasing line.
        var correlation = new double[phi.Length];
        for (int i = 0; i < phi.Length; i++)
        {
            double d = i - radius;
            correlation[i] = d / sigma2 * phi[i];
        }

        return correlation;
    }

    /// <summary>Builds the kernel for one axis; σ must be positive and order 0 or 1 (validated by the caller).</summary>
    public static GaussianKernel Create(double sigma, int order, double truncate)
    {
        int radius = RadiusFor(sigma, truncate);
        double[] full = CorrelationWeights(sigma, order, radius);
        var half = new double[radius + 1];
        Array.Copy(full, radius, half, 0, radius + 1);
        return new GaussianKernel(half, order == 1, order);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void ConvolveRows(float** rows, int count, int width, float* output, long outputStride, LineScratch scratch)
    {
        fixed (float* w = weights)
        {
            if (antisymmetric)
            {
                ConvolveRows<Difference>(rows, count, width, output, outputStride, w, Radius);
            }
            else
            {
                ConvolveRows<Sum>(rows, count, width, output, outputStride, w, Radius);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void ConvolveLine(float* padded, int count, float* output)
    {
        fixed (float* w = weights)
        {
            if (antisymmetric)
            {
                ConvolveLine<Difference>(padded, count, output, w, Radius);
            }
            else
            {
                ConvolveLine<Sum>(padded, count, output, w, Radius);
            }
        }
    }

    // Every output sample goes through the same operations in the same order, whether it falls in a 4-vector block,
    // a single vector or the scalar tail: results do not depend on position, chunking or thread count.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ConvolveRows<TPair>(float** rows, int count, int width, float* output, long outputStride, float* w, int radius)
        where TPair : struct, IPair
    {
        int lanes = Vector<float>.Count;
        for (int i = 0; i < count; i++)
        {
            float** r = rows + i + radius;
            float* centre = r[0];
            float* o = output + (i * outputStride);
            int x = 0;
            for (; x <= width - (4 * lanes); x += 4 * lanes)
            {
                Vector<float> a0, a1, a2, a3;
                if (TPair.HasCentre)
                {
                    var w0 = new Vector<float>(w[0]);
                    a0 = Vector.Load(centre + x) * w0;
                    a1 = Vector.Load(centre + x + lanes) * w0;
                    a2 = Vector.Load(centre + x + (2 * lanes)) * w0;
                    a3 = Vector.Load(centre + x + (3 * lanes)) * w0;
                }
                else
                {
                    a0 = a1 = a2 = a3 = Vector<float>.Zero;
                }

                for (int k = 1; k <= radius; k++)
                {
                    float* lo = r[-k] + x;
                    float* hi = r[k] + x;
                    var wk = new Vector<float>(w[k]);
                    a0 = Vector.FusedMultiplyAdd(TPair.Combine(Vector.Load(lo), Vector.Load(hi)), wk, a0);
                    a1 = Vector.FusedMultiplyAdd(TPair.Combine(Vector.Load(lo + lanes), Vector.Load(hi + lanes)), wk, a1);
                    a2 = Vector.FusedMultiplyAdd(TPair.Combine(Vector.Load(lo + (2 * lanes)), Vector.Load(hi + (2 * lanes))), wk, a2);
                    a3 = Vector.FusedMultiplyAdd(TPair.Combine(Vector.Load(lo + (3 * lanes)), Vector.Load(hi + (3 * lanes))), wk, a3);
                }

                a0.Store(o + x);
                a1.Store(o + x + lanes);
                a2.Store(o + x + (2 * lanes));
                a3.Store(o + x + (3 * lanes));
            }

            for (; x <= width - lanes; x += lanes)
            {
                Vector<float> a = TPair.HasCentre ? Vector.Load(centre + x) * new Vector<float>(w[0]) : Vector<float>.Zero;
                for (int k = 1; k <= radius; k++)
                {
                    a = Vector.FusedMultiplyAdd(TPair.Combine(Vector.Load(r[-k] + x), Vector.Load(r[k] + x)), new Vector<float>(w[k]), a);
                }

                a.Store(o + x);
            }

            for (; x < width; x++)
            {
                float a = TPair.HasCentre ? centre[x] * w[0] : 0f;
                for (int k = 1; k <= radius; k++)
                {
                    a = MathF.FusedMultiplyAdd(TPair.Combine(r[-k][x], r[k][x]), w[k], a);
                }

                o[x] = a;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ConvolveLine<TPair>(float* padded, int count, float* output, float* w, int radius)
        where TPair : struct, IPair
    {
        int lanes = Vector<float>.Count;
        float* c = padded + radius;
        int i = 0;
        for (; i <= count - (4 * lanes); i += 4 * lanes)
        {
            float* p = c + i;
            Vector<float> a0, a1, a2, a3;
            if (TPair.HasCentre)
            {
                var w0 = new Vector<float>(w[0]);
                a0 = Vector.Load(p) * w0;
                a1 = Vector.Load(p + lanes) * w0;
                a2 = Vector.Load(p + (2 * lanes)) * w0;
                a3 = Vector.Load(p + (3 * lanes)) * w0;
            }
            else
            {
                a0 = a1 = a2 = a3 = Vector<float>.Zero;
            }

            for (int k = 1; k <= radius; k++)
            {
                float* lo = p - k;
                float* hi = p + k;
                var wk = new Vector<float>(w[k]);
                a0 = Vector.FusedMultiplyAdd(TPair.Combine(Vector.Load(lo), Vector.Load(hi)), wk, a0);
                a1 = Vector.FusedMultiplyAdd(TPair.Combine(Vector.Load(lo + lanes), Vector.Load(hi + lanes)), wk, a1);
                a2 = Vector.FusedMultiplyAdd(TPair.Combine(Vector.Load(lo + (2 * lanes)), Vector.Load(hi + (2 * lanes))), wk, a2);
                a3 = Vector.FusedMultiplyAdd(TPair.Combine(Vector.Load(lo + (3 * lanes)), Vector.Load(hi + (3 * lanes))), wk, a3);
            }

            a0.Store(output + i);
            a1.Store(output + i + lanes);
            a2.Store(output + i + (2 * lanes));
            a3.Store(output + i + (3 * lanes));
        }

        for (; i <= count - lanes; i += lanes)
        {
            float* p = c + i;
            Vector<float> a = TPair.HasCentre ? Vector.Load(p) * new Vector<float>(w[0]) : Vector<float>.Zero;
            for (int k = 1; k <= radius; k++)
            {
                a = Vector.FusedMultiplyAdd(TPair.Combine(Vector.Load(p - k), Vector.Load(p + k)), new Vector<float>(w[k]), a);
            }

            a.Store(output + i);
        }

        for (; i < count; i++)
        {
            float* p = c + i;
            float a = TPair.HasCentre ? p[0] * w[0] : 0f;
            for (int k = 1; k <= radius; k++)
            {
                a = MathF.FusedMultiplyAdd(TPair.Combine(p[-k], p[k]), w[k], a);
            }

            output[i] = a;
        }
    }

    /// <summary>How a tap pair (the samples at -k and +k) is combined before weighting.</summary>
    private interface IPair
    {
        static abstract bool HasCentre { get; }

        static abstract Vector<float> Combine(Vector<float> before, Vector<float> after);

        static abstract float Combine(float before, float after);
    }

    /// <summary>Symmetric (smoothing) kernel.</summary>
    private readonly struct Sum : IPair
    {
        public static bool HasCentre => true;

        public static Vector<float> Combine(Vector<float> before, Vector<float> after) => before + after;

        public static float Combine(float before, float after) => before + after;
    }

    /// <summary>Antisymmetric (first-derivative) kernel; its centre weight is zero.</summary>
    private readonly struct Difference : IPair
    {
        public static bool HasCentre => false;

        public static Vector<float> Combine(Vector<float> before, Vector<float> after) => after - before;

        public static float Combine(float before, float after) => after - before;
    }
}
