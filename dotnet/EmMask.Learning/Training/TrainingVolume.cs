using EmMask.Core.Volumes;
using EmMask.Learning.Preprocessing;

namespace EmMask.Learning.Training;

/// <summary>
/// One training or validation volume: an image already normalised with
/// <see cref="IntensityNormalization"/>, its 0/1 labels (1 = brain tissue), and optionally a
/// 0/1 mask of the voxels that are labelled (for fine-tuning on partial annotations: only those
/// voxels contribute to the loss and are used as patch centres).
/// </summary>
/// <param name="Image">Normalised image (use <see cref="FromRaw"/> to normalise).</param>
/// <param name="Labels">0/1 labels, same shape.</param>
/// <param name="LabelledRegion">Optional 0/1 mask of labelled voxels, same shape; null = all labelled.</param>
/// <param name="Name">Name used in logs (e.g. "phantom seed 7, dark").</param>
/// <param name="Focus">Optional 0/1 mask of voxels to draw extra patch centres from (hard structures such as tracheae
/// inside the tissue; see <see cref="TrainingOptions.FocusWeight"/>); null = none.</param>
/// <param name="Augmentation">This volume's own augmentation preset, in place of the run's
/// <see cref="TrainingOptions.Augmentation"/> (e.g. phantoms under the default preset in a real-EM run); null = the
/// run's. Zoom is drawn from the run's preset first and then skipped for a volume whose own preset has no zoom.</param>
public sealed record TrainingVolume(Volume<float> Image, Volume<byte> Labels, Volume<byte>? LabelledRegion = null, string Name = "", Volume<byte>? Focus = null,
    AugmentationOptions? Augmentation = null)
{
    /// <summary>Normalises a raw image (any range) with the shared training/inference normalisation.</summary>
    public static TrainingVolume FromRaw(IVolume raw, Volume<byte> labels, Volume<byte>? labelledRegion = null, string name = "")
    {
        ArgumentNullException.ThrowIfNull(raw);
        return new TrainingVolume(IntensityNormalization.ToNormalizedFloat(raw), labels, labelledRegion, name);
    }

    /// <summary>
    /// This volume at a coarser working scale (<c>--scale</c> at inference): the image averaged over factor³ blocks, as
    /// the sliding-window inferer downsamples a normalised volume; a label is 1 where at least half of its block is
    /// tissue, and a block that is exactly half tissue is 1 where z + y + x (block coordinates) is even: breaking every
    /// tie one way would move the coarse boundary outwards by a fraction of a voxel. A block is labelled only if all of
    /// it is; a block is in focus if any of it is. Partial blocks at the far edges use the voxels they hold. Training on
    /// such copies teaches the network the coarser voxel size.
    /// </summary>
    /// <param name="factor">The in-plane factor (and the z factor unless <paramref name="inPlaneOnly"/>).</param>
    /// <param name="inPlaneOnly">Average in-plane only, as the inferer downsamples a stack it predicts section by section.</param>
    /// <param name="halfLabelled">A block is labelled where at least half of it is, by the majority of its labelled
    /// voxels (ties as above), instead of only where all of it is: one proofread section of a volume averaged in z too
    /// would otherwise leave no labelled block.</param>
    public TrainingVolume Downsampled(int factor, bool inPlaneOnly = false, bool halfLabelled = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(factor, 1);
        if (factor == 1) return this;
        int fz = inPlaneOnly ? 1 : factor;
        var s = Image.Shape;
        var c = new Shape3((s.Z + fz - 1) / fz, (s.Y + factor - 1) / factor, (s.X + factor - 1) / factor);
        var voxel = Image.VoxelSize;
        var image = new Volume<float>(c, new VoxelSize(voxel.Z * fz, voxel.Y * factor, voxel.X * factor));
        var labels = new Volume<byte>(c, image.VoxelSize);
        var region = LabelledRegion is null ? null : new Volume<byte>(c, image.VoxelSize);
        var focus = Focus is null ? null : new Volume<byte>(c, image.VoxelSize);
        var img = Image.Span;
        var lab = Labels.Span;
        for (int z = 0; z < c.Z; z++)
            for (int y = 0; y < c.Y; y++)
                for (int x = 0; x < c.X; x++)
                {
                    double sum = 0;
                    int count = 0, tissue = 0, labelled = 0, labelledTissue = 0;
                    bool anyFocus = false;
                    for (int dz = z * fz; dz < Math.Min(s.Z, (z + 1) * fz); dz++)
                        for (int dy = y * factor; dy < Math.Min(s.Y, (y + 1) * factor); dy++)
                            for (int dx = x * factor; dx < Math.Min(s.X, (x + 1) * factor); dx++)
                            {
                                int i = (int)s.Index(dz, dy, dx);
                                sum += img[i];
                                tissue += lab[i];
                                count++;
                                if (region is not null && LabelledRegion!.Span[i] != 0)
                                {
                                    labelled++;
                                    labelledTissue += lab[i];
                                }

                                if (focus is not null) anyFocus |= Focus!.Span[i] != 0;
                            }
                    image[z, y, x] = (float)(sum / count);
                    bool counted = region is null || (halfLabelled ? 2 * labelled >= count : labelled == count);
                    bool byLabelled = halfLabelled && labelled > 0;
                    int n = byLabelled ? labelled : count, t = byLabelled ? labelledTissue : tissue;
                    labels[z, y, x] = (byte)(2 * t > n || (2 * t == n && ((z + y + x) & 1) == 0) ? 1 : 0);
                    if (region is not null) region[z, y, x] = (byte)(counted ? 1 : 0);
                    if (focus is not null) focus[z, y, x] = (byte)(anyFocus ? 1 : 0);
                }
        return new TrainingVolume(image, labels, region, inPlaneOnly ? $"{Name}@{factor}x in-plane" : $"{Name}@{factor}x", focus, Augmentation);
    }

    /// <summary>Throws <see cref="ArgumentException"/> when shapes differ or labels are not 0/1.</summary>
    public void Validate(string parameterName)
    {
        ArgumentNullException.ThrowIfNull(Image, parameterName);
        ArgumentNullException.ThrowIfNull(Labels, parameterName);
        if (Labels.Shape != Image.Shape)
            throw new ArgumentException($"Volume '{Name}': labels shape {Labels.Shape} differs from image shape {Image.Shape}.", parameterName);
        if (LabelledRegion is not null && LabelledRegion.Shape != Image.Shape)
            throw new ArgumentException($"Volume '{Name}': labelled-region shape {LabelledRegion.Shape} differs from image shape {Image.Shape}.", parameterName);
        if (Focus is not null && Focus.Shape != Image.Shape)
            throw new ArgumentException($"Volume '{Name}': focus shape {Focus.Shape} differs from image shape {Image.Shape}.", parameterName);
        foreach (var v in Labels.Span)
            if (v > 1) throw new ArgumentException($"Volume '{Name}': labels must be 0/1 (found {v}).", parameterName);
        Augmentation?.Validate();
    }
}
