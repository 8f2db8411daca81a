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
public sealed record TrainingVolume(Volume<float> Image, Volume<byte> Labels, Volume<byte>? LabelledRegion = null, string Name = "")
{
    /// <summary>Normalises a raw image (any range) with the shared training/inference normalisation.</summary>
    public static TrainingVolume FromRaw(IVolume raw, Volume<byte> labels, Volume<byte>? labelledRegion = null, string name = "")
    {
        ArgumentNullException.ThrowIfNull(raw);
        return new TrainingVolume(IntensityNormalization.ToNormalizedFloat(raw), labels, labelledRegion, name);
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
        foreach (var v in Labels.Span)
            if (v > 1) throw new ArgumentException($"Volume '{Name}': labels must be 0/1 (found {v}).", parameterName);
    }
}
