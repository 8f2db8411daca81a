using EmMask.Core.Volumes;

namespace EmMask.Learning.Training;

/// <summary>
/// Draws one augmented training patch: the zoom (from the run's preset), the volume, the patch from the
/// <see cref="PatchSampler"/>, then the augmentation of that volume's preset (<see cref="TrainingVolume.Augmentation"/>,
/// else the run's). With no volume of its own preset the random draws are exactly those the trainer made before
/// per-volume presets existed, so older runs replay unchanged.
/// </summary>
internal sealed class PatchDrawer
{
    private readonly PatchSampler sampler;
    private readonly IReadOnlyList<TrainingVolume> volumes;
    private readonly AugmentationOptions run;
    private readonly Shape3 patch;
    private readonly PatchZoom zoomer = new();
    private readonly Dictionary<AugmentationOptions, PatchAugmenter> augmenters = new(ReferenceEqualityComparer.Instance);

    public PatchDrawer(PatchSampler sampler, IReadOnlyList<TrainingVolume> volumes, AugmentationOptions run, Shape3 patch)
    {
        this.sampler = sampler;
        this.volumes = volumes;
        this.run = run;
        this.patch = patch;
    }

    /// <summary>Fills one patch (image, label, weight) and returns the index of the volume it came from.</summary>
    public int Draw(TrainingRandom rng, Span<float> image, Span<float> label, Span<float> weight)
    {
        double zoom = 1;
        if (run.ZoomProbability > 0 && rng.Chance(run.ZoomProbability))
        {
            var (lo, hi) = run.Zoom;
            zoom = Math.Exp(rng.Uniform(Math.Log(lo), Math.Log(hi)));
        }

        int vi = sampler.PickVolume(rng);
        var options = volumes[vi].Augmentation ?? run;
        if (zoom != 1 && options.ZoomProbability > 0)
            zoomer.Sample(sampler, rng, vi, patch, zoom, image, label, weight);
        else
            sampler.Sample(rng, vi, patch, image, label, weight);

        if (!augmenters.TryGetValue(options, out var augmenter))
            augmenters[options] = augmenter = new PatchAugmenter(options, patch);
        augmenter.Apply(rng, image, label, weight);
        return vi;
    }
}
