using System.Numerics;
using EmMask.Core.Masking;

namespace EmMask.Core.Tests.Masking;

public class SymmetricEigenTests
{
    [Fact]
    public void AcosMatchesMathAcrossTheDomain()
    {
        double worst = 0;
        int lanes = Vector<float>.Count;
        var x = new float[lanes];
        for (int k = 0; k <= 20000; k += lanes)
        {
            for (int l = 0; l < lanes; l++)
            {
                x[l] = Math.Clamp(-1f + ((k + l) / 10000f), -1f, 1f);
            }

            var got = SymmetricEigen.Acos(new Vector<float>(x));
            for (int l = 0; l < lanes; l++)
            {
                worst = Math.Max(worst, Math.Abs(got[l] - Math.Acos(x[l])));
            }
        }

        Assert.True(worst < 1e-6, $"max |acos error| {worst:g}");
    }

    [Fact]
    public void SmallestEigenvalueMatchesAJacobiReference()
    {
        var rng = new Random(7);
        int lanes = Vector<float>.Count;
        var m = new float[6][];
        for (int i = 0; i < 6; i++)
        {
            m[i] = new float[lanes];
        }

        for (int trial = 0; trial < 2000; trial++)
        {
            for (int l = 0; l < lanes; l++)
            {
                // Structure-tensor-like: a sum of outer products (positive semi-definite), with sheet and line cases.
                var s = new double[3, 3];
                int terms = 1 + ((trial + l) % 4);
                for (int t = 0; t < terms; t++)
                {
                    double gx = rng.NextDouble() - 0.5, gy = rng.NextDouble() - 0.5, gz = rng.NextDouble() - 0.5;
                    double[] g = [gz, gy, gx];
                    for (int p = 0; p < 3; p++)
                    {
                        for (int q = 0; q < 3; q++)
                        {
                            s[p, q] += g[p] * g[q] * 10;
                        }
                    }
                }

                m[0][l] = (float)s[0, 0]; m[1][l] = (float)s[1, 1]; m[2][l] = (float)s[2, 2];
                m[3][l] = (float)s[0, 1]; m[4][l] = (float)s[0, 2]; m[5][l] = (float)s[1, 2];
            }

            var got = SymmetricEigen.Smallest(
                new Vector<float>(m[0]), new Vector<float>(m[1]), new Vector<float>(m[2]),
                new Vector<float>(m[3]), new Vector<float>(m[4]), new Vector<float>(m[5]));
            for (int l = 0; l < lanes; l++)
            {
                var (min, max) = Jacobi(m[0][l], m[1][l], m[2][l], m[3][l], m[4][l], m[5][l]);

                // The float32 closed form loses up to ~1e-4 of the largest eigenvalue where two eigenvalues meet (acos is
                // singular at ±1, so input rounding moves r there); a wrong branch or coefficient would be off by O(1).
                Assert.True(Math.Abs(got[l] - min) <= 5e-4 * Math.Max(max, 1e-3), $"trial {trial}: got {got[l]:g}, expected {min:g} (largest {max:g})");
            }
        }
    }

    // Cyclic Jacobi rotations in double: the smallest and largest eigenvalue.
    internal static (double Min, double Max) Jacobi(double a, double b, double c, double d, double e, double f)
    {
        double[,] s = { { a, d, e }, { d, b, f }, { e, f, c } };
        for (int sweep = 0; sweep < 50; sweep++)
        {
            for (int p = 0; p < 2; p++)
            {
                for (int q = p + 1; q < 3; q++)
                {
                    if (Math.Abs(s[p, q]) < 1e-300)
                    {
                        continue;
                    }

                    double theta = (s[q, q] - s[p, p]) / (2 * s[p, q]);
                    double t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt((theta * theta) + 1));
                    double cs = 1 / Math.Sqrt((t * t) + 1), sn = t * cs;
                    for (int k = 0; k < 3; k++)
                    {
                        double skp = s[k, p], skq = s[k, q];
                        s[k, p] = (cs * skp) - (sn * skq);
                        s[k, q] = (sn * skp) + (cs * skq);
                    }

                    for (int k = 0; k < 3; k++)
                    {
                        double spk = s[p, k], sqk = s[q, k];
                        s[p, k] = (cs * spk) - (sn * sqk);
                        s[q, k] = (sn * spk) + (cs * sqk);
                    }
                }
            }
        }

        double[] ev = [s[0, 0], s[1, 1], s[2, 2]];
        return (ev.Min(), ev.Max());
    }
}
