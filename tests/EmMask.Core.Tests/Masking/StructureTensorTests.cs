using EmMask.Core.Filters;
using EmMask.Core.Masking;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>
/// The streamed structure tensor (slabs, a ring of slices, reflection at both ends) against the textbook computation:
/// full-volume gradient products, a 3D Gaussian per component, a double-precision eigen-solve per voxel.
/// </summary>
public class StructureTensorTests
{
    [Theory]
    [InlineData(1, 23, 19)]
    [InlineData(2, 12, 10)]
    [InlineData(5, 20, 17)]
    [InlineData(17, 9, 33)]
    [InlineData(40, 11, 13)]
    [InlineData(71, 8, 9)]
    public void MatchesTheFullVolumeComputation(int z, int y, int x)
    {
        var shape = new Shape3(z, y, x);
        var rng = new Random(z * 1000 + y * 10 + x);
        var d = new Volume<float>(shape);
        var s = new Volume<float>(shape);
        for (int i = 0; i < d.Span.Length; i++)
        {
            d.Span[i] = (float)(rng.NextDouble() - 0.5);
            s.Span[i] = (float)(rng.NextDouble() + (0.01 * (i % x)));
        }

        const float dScale = 1.7f, sScale = 0.6f;
        const double sigma = 1.5;
        var got = new Volume<float>(shape);
        StructureTensor.SmallestEigenvalue(d, s, dScale, sScale, sigma, got, CancellationToken.None);

        var expected = Reference(d, s, dScale, sScale, sigma, out var largest);
        for (int i = 0; i < got.Span.Length; i++)
        {
            Assert.True(Math.Abs(got.Span[i] - expected[i]) <= 5e-4 * Math.Max(largest[i], 1e-6),
                $"voxel {i} of {shape}: got {got.Span[i]:g}, expected {expected[i]:g} (largest {largest[i]:g})");
        }
    }

    private static double[] Reference(Volume<float> d, Volume<float> s, float dScale, float sScale, double sigma, out double[] largest)
    {
        var shape = d.Shape;
        bool planar = shape.Z == 1;
        var gd = Gradients(d, dScale);
        var gs = Gradients(s, sScale);
        (int, int)[] pairs = planar ? [(1, 1), (2, 2), (1, 2)] : [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)];
        var j = new Volume<float>[pairs.Length];
        for (int p = 0; p < pairs.Length; p++)
        {
            var (a, b) = pairs[p];
            j[p] = new Volume<float>(shape);
            for (int i = 0; i < j[p].Span.Length; i++)
            {
                j[p].Span[i] = (gd[a][i] * gd[b][i]) + (gs[a][i] * gs[b][i]);
            }

            GaussianFilter.Apply(j[p], j[p], planar ? new Sigma3(0, sigma, sigma) : Sigma3.Isotropic(sigma));
        }

        var result = new double[shape.Length];
        largest = new double[shape.Length];
        for (int i = 0; i < result.Length; i++)
        {
            var (min, max) = planar
                ? SymmetricEigenTests.Jacobi(0, j[0].Span[i], j[1].Span[i], 0, 0, j[2].Span[i]) // zero z row: the 2D tensor plus an eigenvalue 0
                : SymmetricEigenTests.Jacobi(j[0].Span[i], j[1].Span[i], j[2].Span[i], j[3].Span[i], j[4].Span[i], j[5].Span[i]);
            if (planar)
            {
                // λ_min of the 2×2 block: the smaller eigenvalue other than the padded 0.
                double a = j[0].Span[i], b = j[1].Span[i], c = j[2].Span[i];
                min = ((a + b) / 2) - Math.Sqrt((((a - b) / 2) * ((a - b) / 2)) + (c * c));
            }

            result[i] = min;
            largest[i] = Math.Abs(max);
        }

        return result;
    }

    // numpy.gradient per axis (central inside, one-sided at the ends, 0 on a length-1 axis), times scale.
    private static float[][] Gradients(Volume<float> v, float scale)
    {
        var shape = v.Shape;
        var g = new float[3][];
        for (int axis = 0; axis < 3; axis++)
        {
            g[axis] = new float[shape.Length];
        }

        for (int z = 0; z < shape.Z; z++)
        {
            for (int y = 0; y < shape.Y; y++)
            {
                for (int x = 0; x < shape.X; x++)
                {
                    int i = (int)shape.Index(z, y, x);
                    g[0][i] = Along(shape.Z, z, k => v[k, y, x]) * scale;
                    g[1][i] = Along(shape.Y, y, k => v[z, k, x]) * scale;
                    g[2][i] = Along(shape.X, x, k => v[z, y, k]) * scale;
                }
            }
        }

        return g;
    }

    private static float Along(int n, int i, Func<int, float> at)
    {
        if (n == 1)
        {
            return 0;
        }

        if (i == 0)
        {
            return at(1) - at(0);
        }

        if (i == n - 1)
        {
            return at(n - 1) - at(n - 2);
        }

        return (at(i + 1) - at(i - 1)) * 0.5f;
    }
}
