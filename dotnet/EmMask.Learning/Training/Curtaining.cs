using EmMask.Core.Volumes;

namespace EmMask.Learning.Training;

/// <summary>
/// FIB-SEM curtaining on a patch: streaks of random width and sign that run along y (or x) through every section,
/// some starting part-way down (behind a feature), strongest in non-brain voxels (resin is flat, so the milling
/// streaks show there) and at <see cref="TissueFactor"/> of that in tissue, as <c>EmMask.Core.Phantom</c>'s artefacts
/// draw them. Labels are untouched: streaked resin stays resin.
/// </summary>
internal static class Curtaining
{
    /// <summary>Share of a streak's amplitude that tissue voxels get.</summary>
    public const float TissueFactor = 0.4f;

    /// <summary>Draws a streak profile across <paramref name="length"/> columns: per column an offset and the row it starts at.</summary>
    /// <param name="rng">Random source.</param>
    /// <param name="length">Columns across the streaks.</param>
    /// <param name="runLength">Rows along the streaks.</param>
    /// <param name="strength">Largest streak amplitude (normalised intensity).</param>
    public static (float[] Offset, int[] Start) Draw(TrainingRandom rng, int length, int runLength, double strength)
    {
        var offset = new float[length];
        var start = new int[length];
        var strongest = new float[length];
        int streaks = Math.Max(2, (int)(length / rng.Uniform(6, 14)));
        for (int i = 0; i < streaks; i++)
        {
            double centre = rng.Uniform(0, length), halfWidth = rng.Uniform(0.6, 3.5);
            float amplitude = (float)(rng.NextGaussian() * rng.Uniform(1.0 / 3, 1) * strength);
            int from = rng.Chance(0.6) ? rng.Next(Math.Max(1, (int)(runLength * 0.7))) : 0;
            for (int c = Math.Max(0, (int)(centre - halfWidth)); c <= Math.Min(length - 1, (int)(centre + halfWidth)); c++)
            {
                float u = (float)((c - centre) / halfWidth), w = Math.Max(0, 1 - (u * u));
                offset[c] += amplitude * w * w;
                if (Math.Abs(amplitude * w) > strongest[c])
                {
                    strongest[c] = Math.Abs(amplitude * w);
                    start[c] = from;
                }
            }
        }

        for (int c = 0; c < length; c++)
        {
            offset[c] += (float)(rng.NextGaussian() * 0.1 * strength); // column-to-column jitter
        }

        return (offset, start);
    }

    /// <summary>Adds the streaks to the image: along y when <paramref name="alongY"/> (columns are x), else along x.</summary>
    public static void Apply(Span<float> image, ReadOnlySpan<float> label, Shape3 patch, bool alongY, ReadOnlySpan<float> offset, ReadOnlySpan<int> start)
    {
        int Y = patch.Y, X = patch.X, plane = Y * X;
        for (int z = 0; z < patch.Z; z++)
        {
            for (int y = 0; y < Y; y++)
            {
                for (int x = 0; x < X; x++)
                {
                    int column = alongY ? x : y, row = alongY ? y : x;
                    if (row < start[column])
                    {
                        continue;
                    }

                    int i = (z * plane) + (y * X) + x;
                    image[i] += offset[column] * (label[i] > 0.5f ? TissueFactor : 1f);
                }
            }
        }
    }
}
