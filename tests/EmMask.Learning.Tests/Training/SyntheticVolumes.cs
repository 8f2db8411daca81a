using EmMask.Core.Volumes;
using EmMask.Learning.Training;

namespace EmMask.Learning.Tests.Training;

/// <summary>Tiny deterministic "tissue ball in resin" volumes: tissue is bright and speckled, resin dark and smooth.</summary>
internal static class SyntheticVolumes
{
    public static TrainingVolume Ball(int size, int seed, bool invert = false)
    {
        var shape = new Shape3(size, size, size);
        var image = new Volume<float>(shape);
        var labels = new Volume<byte>(shape);
        var rng = new Random(seed);
        double c = (size - 1) / 2.0 + rng.NextDouble() * 3 - 1.5, r = size * 0.32;
        for (int z = 0; z < size; z++)
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++)
                {
                    bool tissue = (z - c) * (z - c) + (y - c) * (y - c) + (x - c) * (x - c) < r * r;
                    float v = tissue ? 0.7f + 0.3f * (float)rng.NextDouble() : 0.15f + 0.05f * (float)rng.NextDouble();
                    image[z, y, x] = invert ? 1 - v : v;
                    labels[z, y, x] = (byte)(tissue ? 1 : 0);
                }
        return new TrainingVolume(image, labels, null, $"ball{seed}");
    }
}
