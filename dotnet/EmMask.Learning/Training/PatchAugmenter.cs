using EmMask.Core.Volumes;

namespace EmMask.Learning.Training;

/// <summary>Applies <see cref="AugmentationOptions"/> to one patch in place (geometry to all three arrays, intensity to the image).</summary>
internal sealed class PatchAugmenter(AugmentationOptions options, Shape3 patch)
{
    private readonly float[] scratch = new float[patch.Length];
    private readonly float[] line = new float[Math.Max(patch.Z, Math.Max(patch.Y, patch.X))];

    public void Apply(TrainingRandom rng, Span<float> image, Span<float> label, Span<float> weight)
    {
        bool fz = options.Flips && rng.Chance(0.5), fy = options.Flips && rng.Chance(0.5), fx = options.Flips && rng.Chance(0.5);
        // Flips of Y and X plus a YX transpose generate all 90° in-plane rotations (with mirrors).
        bool transpose = options.Rotations && patch.Y == patch.X && rng.Chance(0.5);
        if (fz || fy || fx || transpose)
        {
            Remap(image, fz, fy, fx, transpose);
            Remap(label, fz, fy, fx, transpose);
            Remap(weight, fz, fy, fx, transpose);
        }

        if (rng.Chance(options.BlurProbability))
            Blur(image, rng.Uniform(options.BlurSigma.Item1, options.BlurSigma.Item2));
        if (rng.Chance(options.IntensityProbability))
        {
            float g = (float)Math.Exp(rng.Uniform(Math.Log(options.Gamma.Item1), Math.Log(options.Gamma.Item2)));
            for (int i = 0; i < image.Length; i++)
            {
                float v = image[i], c = Math.Clamp(v, 0f, 1f);
                image[i] = MathF.Pow(c, g) + (v - c); // gamma on the [0,1] part keeps out-of-range values ordered
            }
        }
        if (rng.Chance(options.IntensityProbability))
        {
            float a = (float)rng.Uniform(options.Scale.Item1, options.Scale.Item2);
            float b = (float)rng.Uniform(options.Shift.Item1, options.Shift.Item2);
            for (int i = 0; i < image.Length; i++) image[i] = image[i] * a + b;
        }
        if (rng.Chance(options.InvertProbability))
            for (int i = 0; i < image.Length; i++) image[i] = 1f - image[i];
        if (rng.Chance(options.NoiseProbability))
        {
            double sigma = rng.Uniform(0, options.NoiseSigma);
            for (int i = 0; i < image.Length; i++) image[i] += (float)(sigma * rng.NextGaussian());
        }
    }

    private void Remap(Span<float> data, bool fz, bool fy, bool fx, bool transpose)
    {
        data.CopyTo(scratch);
        int Z = patch.Z, Y = patch.Y, X = patch.X;
        int o = 0;
        for (int z = 0; z < Z; z++)
        {
            int sz = fz ? Z - 1 - z : z;
            for (int y = 0; y < Y; y++)
                for (int x = 0; x < X; x++, o++)
                {
                    int sy = transpose ? x : y, sx = transpose ? y : x;
                    if (fy) sy = Y - 1 - sy;
                    if (fx) sx = X - 1 - sx;
                    data[o] = scratch[(sz * Y + sy) * X + sx];
                }
        }
    }

    // Separable Gaussian, reflect at the patch border; one pass per axis.
    private void Blur(Span<float> data, double sigma)
    {
        int radius = Math.Max(1, (int)(4 * sigma + 0.5));
        var k = new float[2 * radius + 1];
        double sum = 0;
        for (int i = -radius; i <= radius; i++) sum += k[i + radius] = (float)Math.Exp(-0.5 * i * i / (sigma * sigma));
        for (int i = 0; i < k.Length; i++) k[i] /= (float)sum;
        int Z = patch.Z, Y = patch.Y, X = patch.X;
        BlurAxis(data, k, X, 1, Z * Y, i => i * X);
        BlurAxis(data, k, Y, X, Z * X, i => i / X * X * Y + i % X);
        BlurAxis(data, k, Z, X * Y, Y * X, i => i);
    }

    private void BlurAxis(Span<float> data, float[] k, int n, int step, int lines, Func<int, int> lineStart)
    {
        int r = k.Length / 2;
        var buf = line.AsSpan(0, n);
        for (int l = 0; l < lines; l++)
        {
            int start = lineStart(l);
            for (int i = 0; i < n; i++) buf[i] = data[start + i * step];
            for (int i = 0; i < n; i++)
            {
                float acc = 0;
                for (int j = -r; j <= r; j++) acc += k[j + r] * buf[Reflect(i + j, n)];
                data[start + i * step] = acc;
            }
        }
    }

    private static int Reflect(int i, int n)
    {
        if (n == 1) return 0;
        while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - i - 1;
        return i;
    }
}
