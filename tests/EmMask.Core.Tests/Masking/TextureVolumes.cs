using EmMask.Core.Filters;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>Small synthetic volumes: flat "resin" with noise, and regions with texture at a chosen scale.</summary>
internal static class TextureVolumes
{
    public const int Z = 24, Y = 48, X = 64;

    /// <summary>Resin: mean 128, Gaussian noise of std 6.</summary>
    public static Volume<float> Resin(int seed, Shape3? shape = null)
    {
        var v = new Volume<float>(shape ?? new Shape3(Z, Y, X));
        var random = new Random(seed);
        var s = v.Span;
        for (int i = 0; i < s.Length; i++)
        {
            s[i] = 128f + (6f * Normal(random));
        }

        return v;
    }

    /// <summary>Adds texture of correlation length <paramref name="scale"/> and std <paramref name="amplitude"/> to x in [x0, x1).</summary>
    public static void AddTexture(Volume<float> v, int x0, int x1, double scale, float amplitude, int seed, (int Z0, int Z1, int Y0, int Y1)? box = null)
    {
        var random = new Random(seed);
        var field = v.Like<float>();
        var f = field.Span;
        for (int i = 0; i < f.Length; i++)
        {
            f[i] = Normal(random);
        }

        GaussianFilter.Apply(field, field, Sigma3.Isotropic(scale));
        double sum = 0;
        foreach (float x in f)
        {
            sum += x * x;
        }

        float gain = amplitude / (float)Math.Sqrt(sum / f.Length);
        var (z0, z1, y0, y1) = box ?? (0, v.Shape.Z, 0, v.Shape.Y);
        for (int z = z0; z < z1; z++)
        {
            for (int y = y0; y < y1; y++)
            {
                for (int x = x0; x < x1; x++)
                {
                    v[z, y, x] += gain * field[z, y, x];
                }
            }
        }
    }

    /// <summary>Mean of a volume over x in [x0, x1).</summary>
    public static double Mean<T>(Volume<T> v, int x0, int x1, (int Z0, int Z1, int Y0, int Y1)? box = null)
        where T : unmanaged
    {
        var (z0, z1, y0, y1) = box ?? (0, v.Shape.Z, 0, v.Shape.Y);
        double sum = 0;
        long n = 0;
        for (int z = z0; z < z1; z++)
        {
            for (int y = y0; y < y1; y++)
            {
                for (int x = x0; x < x1; x++)
                {
                    sum += Convert.ToDouble(v[z, y, x]);
                    n++;
                }
            }
        }

        return sum / n;
    }

    public static long Count(Volume<byte> mask)
    {
        long n = 0;
        foreach (byte b in mask.Span)
        {
            n += b;
        }

        return n;
    }

    private static float Normal(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
}
