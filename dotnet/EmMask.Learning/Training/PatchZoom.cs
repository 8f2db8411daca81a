using EmMask.Core.Volumes;

namespace EmMask.Learning.Training;

/// <summary>
/// Zoom augmentation: cuts a region <c>zoom</c> times the patch's size (per axis, at least one voxel) with the sampler's
/// usual centre choice, and resamples it to the patch: the image trilinearly, labels and weights by nearest voxel. A
/// zoom below 1 shows structures larger, as data with finer voxels would.
/// </summary>
internal sealed class PatchZoom
{
    private float[] image = [];
    private float[] label = [];
    private float[] weight = [];

    /// <summary>Fills the three patch spans from a zoomed region of a sampled volume.</summary>
    public void Sample(PatchSampler sampler, TrainingRandom rng, Shape3 patch, double zoom, Span<float> outImage, Span<float> outLabel, Span<float> outWeight) =>
        Sample(sampler, rng, sampler.PickVolume(rng), patch, zoom, outImage, outLabel, outWeight);

    /// <summary>Fills the three patch spans from a zoomed region of volume <paramref name="volume"/>.</summary>
    public void Sample(PatchSampler sampler, TrainingRandom rng, int volume, Shape3 patch, double zoom, Span<float> outImage, Span<float> outLabel, Span<float> outWeight)
    {
        var region = new Shape3(Scaled(patch.Z, zoom), Scaled(patch.Y, zoom), Scaled(patch.X, zoom));
        int n = (int)region.Length;
        if (image.Length < n)
        {
            image = new float[n];
            label = new float[n];
            weight = new float[n];
        }

        sampler.Sample(rng, volume, region, image.AsSpan(0, n), label.AsSpan(0, n), weight.AsSpan(0, n));
        Resample(image.AsSpan(0, n), region, outImage, patch, linear: true);
        Resample(label.AsSpan(0, n), region, outLabel, patch, linear: false);
        Resample(weight.AsSpan(0, n), region, outWeight, patch, linear: false);
    }

    private static int Scaled(int length, double zoom) => Math.Max(1, (int)Math.Round(length * zoom));

    /// <summary>Maps voxel centres of <paramref name="to"/> onto <paramref name="from"/> (align-corners off, as torch's interpolate).</summary>
    internal static void Resample(ReadOnlySpan<float> source, Shape3 from, Span<float> destination, Shape3 to, bool linear)
    {
        int o = 0;
        for (int z = 0; z < to.Z; z++)
        {
            var (z0, z1, wz) = Axis(z, to.Z, from.Z, linear);
            for (int y = 0; y < to.Y; y++)
            {
                var (y0, y1, wy) = Axis(y, to.Y, from.Y, linear);
                for (int x = 0; x < to.X; x++, o++)
                {
                    var (x0, x1, wx) = Axis(x, to.X, from.X, linear);
                    int r00 = ((z0 * from.Y) + y0) * from.X, r01 = ((z0 * from.Y) + y1) * from.X;
                    int r10 = ((z1 * from.Y) + y0) * from.X, r11 = ((z1 * from.Y) + y1) * from.X;
                    float c00 = source[r00 + x0] + (wx * (source[r00 + x1] - source[r00 + x0]));
                    float c01 = source[r01 + x0] + (wx * (source[r01 + x1] - source[r01 + x0]));
                    float c10 = source[r10 + x0] + (wx * (source[r10 + x1] - source[r10 + x0]));
                    float c11 = source[r11 + x0] + (wx * (source[r11 + x1] - source[r11 + x0]));
                    float c0 = c00 + (wy * (c01 - c00));
                    float c1 = c10 + (wy * (c11 - c10));
                    destination[o] = c0 + (wz * (c1 - c0));
                }
            }
        }
    }

    // Source indices and weight along one axis; nearest uses one index and weight 0.
    private static (int Low, int High, float Weight) Axis(int i, int to, int from, bool linear)
    {
        double centre = ((i + 0.5) * from / to) - 0.5;
        if (!linear)
        {
            int nearest = Math.Clamp((int)Math.Floor(centre + 0.5), 0, from - 1);
            return (nearest, nearest, 0f);
        }

        centre = Math.Clamp(centre, 0, from - 1);
        int low = (int)Math.Floor(centre);
        int high = Math.Min(low + 1, from - 1);
        return (low, high, (float)(centre - low));
    }
}
