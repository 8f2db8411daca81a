namespace EmMask.Core.Morphology;

/// <summary>
/// One line of the separable exact distance transform (Felzenszwalb &amp; Huttenlocher 2012): the lower envelope of
/// parabolas <c>(p - q)² + f(q)</c>, giving for each position the squared distance through the best earlier-axis value.
/// Scratch buffers are owned per thread so lines can be processed in parallel.
/// </summary>
internal sealed class ParabolaEnvelope
{
    private readonly int[] vertex;

    // Intersections between neighbouring parabolas kept as fractions num/den (den > 0): comparing by
    // cross-multiplication takes the divisions, which dominated the run time, out of the loop.
    private readonly double[] num;
    private readonly double[] den;
    private readonly double[] position;
    private readonly double[] height;
    private double spacing = double.NaN;

    public ParabolaEnvelope(int length)
    {
        Input = new double[length];
        Output = new double[length];
        vertex = new int[length];
        num = new double[length + 1];
        den = new double[length + 1];
        position = new double[length];
        height = new double[length];
    }

    /// <summary>f(q): squared distance so far, +∞ where no source has been reached.</summary>
    public double[] Input { get; }

    /// <summary>Squared distance after this axis, +∞ when the line holds no finite input.</summary>
    public double[] Output { get; }

    /// <summary>Runs the envelope over the first <paramref name="n"/> values with physical spacing <paramref name="step"/>.</summary>
    public unsafe void Run(int n, double step)
    {
        if (step != spacing)
        {
            spacing = step;
            for (int q = 0; q < position.Length; q++)
            {
                position[q] = q * step;
            }
        }

        fixed (double* f = Input, outp = Output, nm = num, dn = den, pos = position, h = height)
        fixed (int* vx = vertex)
        {
            int k = -1;
            for (int q = 0; q < n; q++)
            {
                double fq = f[q];
                if (fq == double.PositiveInfinity)
                {
                    continue; // no parabola: nothing reachable through this position yet
                }

                double pq = pos[q];
                double hq = fq + (pq * pq);
                h[q] = hq;
                while (true)
                {
                    if (k < 0)
                    {
                        k = 0;
                        vx[0] = q;
                        break;
                    }

                    int v = vx[k];

                    // Intersection of parabolas v and q at s = (hq - hv) / (2 (pq - pv)).
                    double sNum = hq - h[v];
                    double sDen = 2 * (pq - pos[v]);
                    if (k > 0 && sNum * dn[k] <= nm[k] * sDen)
                    {
                        k--; // parabola v is hidden by q
                        continue;
                    }

                    k++;
                    vx[k] = q;
                    nm[k] = sNum;
                    dn[k] = sDen;
                    break;
                }
            }

            if (k < 0)
            {
                new Span<double>(outp, n).Fill(double.PositiveInfinity);
                return;
            }

            // Boundary k+1 is +∞.
            int last = k;
            int j = 0;
            for (int q = 0; q < n; q++)
            {
                double pq = pos[q];
                while (j < last && nm[j + 1] < pq * dn[j + 1])
                {
                    j++;
                }

                int v = vx[j];
                double d = pq - pos[v];
                outp[q] = (d * d) + f[v];
            }
        }
    }
}
