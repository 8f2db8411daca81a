using EmMask.Core.Filters;
using EmMask.Core.Volumes;
using EmMask.IO.Formats;

namespace EmMask.Core.Tests.Filters;

/// <summary>Fixtures, random volumes, an independent double-precision reference and the scipy tolerance.</summary>
internal static class FilterTestData
{
    public static Volume<float> Fixture(string name)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Filters", name + ".npy");
        return Assert.IsType<Volume<float>>(NpyFormat.Read(path));
    }

    public static Volume<float> Random(Shape3 shape, int seed, float scale = 100f, float offset = 0f)
    {
        var rng = new Random(seed);
        var volume = new Volume<float>(shape);
        var span = volume.Span;
        for (int i = 0; i < span.Length; i++)
        {
            span[i] = offset + (scale * (float)rng.NextDouble());
        }

        return volume;
    }

    /// <summary>|a − b| ≤ 1e-4 · max(1, |b|) everywhere, reporting the first failure.</summary>
    public static void AssertClose(Volume<float> expected, Volume<float> actual, double relative = 1e-4)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var e = expected.Span;
        var a = actual.Span;
        for (int i = 0; i < e.Length; i++)
        {
            double tolerance = relative * Math.Max(1.0, Math.Abs(e[i]));
            if (!(Math.Abs(a[i] - e[i]) <= tolerance))
            {
                Assert.Fail($"Voxel {i} of {expected.Shape}: expected {e[i]:R}, got {a[i]:R} (tolerance {tolerance:g3}).");
            }
        }
    }

    public static void AssertIdentical(Volume<float> expected, Volume<float> actual)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.True(expected.Span.SequenceEqual(actual.Span), "Volumes differ bit for bit.");
    }

    /// <summary>
    /// scipy's reflect extension written out independently of the production code: unfold the line
    /// "d c b a | a b c d | d c b a" by walking back and forth.
    /// </summary>
    public static int MirrorIndex(int i, int n)
    {
        int position = 0;
        int direction = 1;
        int steps = i >= 0 ? i : -i - 1; // on the left, -1 reads index 0, -2 reads index 1, ...

        for (int s = 0; s < steps; s++)
        {
            int next = position + direction;
            if (next < 0 || next >= n)
            {
                direction = -direction; // the edge sample repeats, then the walk turns round
            }
            else
            {
                position = next;
            }
        }

        return position;
    }

    /// <summary>Double-precision correlation along one axis with reflect boundaries.</summary>
    public static double[] Correlate(double[] data, Shape3 shape, int axis, double[] weights, int before)
    {
        var result = new double[data.Length];
        int n = shape[axis];
        for (int z = 0; z < shape.Z; z++)
        {
            for (int y = 0; y < shape.Y; y++)
            {
                for (int x = 0; x < shape.X; x++)
                {
                    int[] p = [z, y, x];
                    int centre = p[axis];
                    double sum = 0;
                    for (int j = 0; j < weights.Length; j++)
                    {
                        p[axis] = MirrorIndex(centre + j - before, n);
                        sum += weights[j] * data[shape.Index(p[0], p[1], p[2])];
                    }

                    result[shape.Index(z, y, x)] = sum;
                }
            }
        }

        return result;
    }

    /// <summary>scipy's Gaussian, rebuilt from its formula, one axis after another in double.</summary>
    public static Volume<float> ReferenceGaussian(Volume<float> source, Sigma3 sigma, (int Z, int Y, int X) order, double truncate = 4.0)
    {
        var shape = source.Shape;
        double[] data = Array.ConvertAll(source.Span.ToArray(), v => (double)v);
        int[] orders = [order.Z, order.Y, order.X];
        for (int axis = 0; axis < 3; axis++)
        {
            double s = sigma[axis];
            if (s <= 1e-15)
            {
                continue;
            }

            int radius = (int)((truncate * s) + 0.5);
            var weights = new double[(2 * radius) + 1];
            double total = 0;
            for (int d = -radius; d <= radius; d++)
            {
                weights[d + radius] = Math.Exp(-0.5 * d * d / (s * s));
                total += weights[d + radius];
            }

            for (int d = -radius; d <= radius; d++)
            {
                weights[d + radius] /= total;
                if (orders[axis] == 1)
                {
                    weights[d + radius] *= d / (s * s); // correlation with the reversed -x/σ² φ(x)
                }
            }

            data = Correlate(data, shape, axis, weights, radius);
            data = Array.ConvertAll(data, v => (double)(float)v); // scipy rounds each pass to float32
        }

        return new Volume<float>(shape, Array.ConvertAll(data, v => (float)v));
    }

    /// <summary>scipy's uniform filter in double.</summary>
    public static Volume<float> ReferenceUniform(Volume<float> source, (int Z, int Y, int X) size)
    {
        var shape = source.Shape;
        double[] data = Array.ConvertAll(source.Span.ToArray(), v => (double)v);
        int[] sizes = [size.Z, size.Y, size.X];
        for (int axis = 0; axis < 3; axis++)
        {
            int s = sizes[axis];
            if (s <= 1)
            {
                continue;
            }

            var weights = Enumerable.Repeat(1.0 / s, s).ToArray();
            data = Correlate(data, shape, axis, weights, s / 2);
            data = Array.ConvertAll(data, v => (double)(float)v);
        }

        return new Volume<float>(shape, Array.ConvertAll(data, v => (float)v));
    }
}
