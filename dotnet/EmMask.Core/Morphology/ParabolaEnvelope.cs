namespace EmMask.Core.Morphology;

/// <summary>
/// One line of the separable exact distance transform (Felzenszwalb &amp; Huttenlocher 2012): the lower envelope of
/// parabolas <c>(p - q)² + f(q)</c>, giving for each position the squared distance through the best earlier-axis value.
/// Scratch buffers are owned per thread so lines can be processed in parallel.
/// </summary>
internal sealed class ParabolaEnvelope
{
    private readonly int[] vertex;
    private readonly double[] boundary;

    public ParabolaEnvelope(int length)
    {
        Input = new double[length];
        Output = new double[length];
        vertex = new int[length];
        boundary = new double[length + 1];
    }

    /// <summary>f(q): squared distance so far, +∞ where no source has been reached.</summary>
    public double[] Input { get; }

    /// <summary>Squared distance after this axis, +∞ when the line holds no finite input.</summary>
    public double[] Output { get; }

    /// <summary>Runs the envelope over the first <paramref name="n"/> values with physical <paramref name="spacing"/>.</summary>
    public void Run(int n, double spacing)
    {
        double[] f = Input;
        int k = -1;
        for (int q = 0; q < n; q++)
        {
            double fq = f[q];
            if (double.IsPositiveInfinity(fq))
            {
                continue; // no parabola: nothing reachable through this position yet
            }

            double pq = q * spacing;
            double hq = fq + (pq * pq);
            while (k >= 0)
            {
                int v = vertex[k];
                double pv = v * spacing;
                double s = (hq - (f[v] + (pv * pv))) / (2 * (pq - pv));
                if (s <= boundary[k])
                {
                    k--;
                }
                else
                {
                    k++;
                    vertex[k] = q;
                    boundary[k] = s;
                    boundary[k + 1] = double.PositiveInfinity;
                    break;
                }
            }

            if (k < 0)
            {
                k = 0;
                vertex[0] = q;
                boundary[0] = double.NegativeInfinity;
                boundary[1] = double.PositiveInfinity;
            }
        }

        if (k < 0)
        {
            Array.Fill(Output, double.PositiveInfinity, 0, n);
            return;
        }

        int j = 0;
        for (int q = 0; q < n; q++)
        {
            double pq = q * spacing;
            while (boundary[j + 1] < pq)
            {
                j++;
            }

            double d = pq - (vertex[j] * spacing);
            Output[q] = (d * d) + f[vertex[j]];
        }
    }
}
