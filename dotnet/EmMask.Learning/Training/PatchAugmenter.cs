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

        // A 2-D patch is decided first: the z-only augmentations would be undone by copying one section everywhere.
        bool planar = options.PlanarProbability > 0 && patch.Z > 1 && rng.Chance(options.PlanarProbability);
        if (!planar && patch.Z > 1)
            SectionChanges(rng, image, label, weight);
        if (options.SeamProbability > 0 && rng.Chance(options.SeamProbability))
        {
            bool alongX = rng.Chance(0.5);
            int length = alongX ? patch.Y : patch.X;
            if (length > 1)
            {
                int position = 1 + rng.Next(length - 1);
                float step = (float)rng.Uniform(-options.SeamStep, options.SeamStep);
                float gain = (float)rng.Uniform(1 - options.SeamStep, 1 + options.SeamStep);
                float seamLine = rng.Chance(0.3) ? (float)rng.Uniform(-2 * options.SeamStep, 2 * options.SeamStep) : 0f;
                TileSeam.Apply(image, patch, alongX, position, gain, step, seamLine);
            }
        }

        if (options.CurtainProbability > 0 && rng.Chance(options.CurtainProbability))
        {
            bool alongY = rng.Chance(0.5);
            var (offset, start) = Curtaining.Draw(rng, alongY ? patch.X : patch.Y, alongY ? patch.Y : patch.X, options.CurtainStrength);
            Curtaining.Apply(image, label, patch, alongY, offset, start);
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
        if (options.JpegProbability > 0 && rng.Chance(options.JpegProbability))
        {
            int quality = (int)Math.Round(rng.Uniform(options.JpegQuality.Item1, options.JpegQuality.Item2));
            JpegBlockArtefacts.Apply(image, patch, Math.Clamp(quality, 1, 100), rng.Next(8), rng.Next(8));
        }
        if (planar)
            SectionAugmentation.Planar(image, label, weight, patch, patch.Z / 2);
    }

    // Thick, misaligned and lost sections (each only when its probability is above 0, so older runs replay unchanged).
    private void SectionChanges(TrainingRandom rng, Span<float> image, Span<float> label, Span<float> weight)
    {
        if (options.SectionThicknessProbability > 0 && rng.Chance(options.SectionThicknessProbability))
        {
            var (lo, hi) = options.SectionThickness;
            int k = lo + rng.Next(hi - lo + 1);
            SectionAugmentation.Thicken(image, label, weight, patch, k, rng.Next(Math.Max(1, k)), rng.Chance(0.5), scratch);
        }
        if (options.SectionShiftProbability > 0 && rng.Chance(options.SectionShiftProbability))
        {
            var dy = new int[patch.Z];
            var dx = new int[patch.Z];
            int m = options.SectionShift;
            if (rng.Chance(0.5))
            {
                // One misalignment: every section from a random one on is displaced by the same offset.
                int from = 1 + rng.Next(patch.Z - 1), sy = rng.Next(2 * m + 1) - m, sx = rng.Next(2 * m + 1) - m;
                for (int z = from; z < patch.Z; z++) (dy[z], dx[z]) = (sy, sx);
            }
            else
            {
                for (int z = 0; z < patch.Z; z++) (dy[z], dx[z]) = (rng.Next(2 * m + 1) - m, rng.Next(2 * m + 1) - m);
            }
            SectionAugmentation.Shift(image, label, weight, patch, dy, dx, scratch);
        }
        if (options.MissingSectionProbability > 0 && rng.Chance(options.MissingSectionProbability))
        {
            int count = 1 + rng.Next(2);
            for (int c = 0; c < count; c++)
            {
                int z = rng.Next(patch.Z);
                double kind = rng.NextDouble();
                // A blank frame (dark, mid-grey or bright), or the neighbour's copy.
                float fill = kind < 0.2 ? 0f : kind < 0.4 ? 0.5f : 1f;
                int copyFrom = kind < 0.6 ? -1 : z > 0 ? z - 1 : z + 1;
                SectionAugmentation.Drop(image, weight, patch, z, fill, copyFrom);
            }
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
