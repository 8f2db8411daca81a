using EmMask.Core.Volumes;

namespace EmMask.Core.Evaluation;

/// <summary>Overlap of a predicted mask with a reference mask (nonzero = brain).</summary>
/// <param name="TruePositives">Voxels brain in both.</param>
/// <param name="FalsePositives">Predicted brain, reference non-brain.</param>
/// <param name="FalseNegatives">Predicted non-brain, reference brain.</param>
/// <param name="TrueNegatives">Non-brain in both.</param>
public readonly record struct MaskMetrics(long TruePositives, long FalsePositives, long FalseNegatives, long TrueNegatives)
{
    /// <summary>2·TP / (2·TP + FP + FN); 1 when both masks are empty.</summary>
    public double Dice => Ratio(2 * TruePositives, (2 * TruePositives) + FalsePositives + FalseNegatives);

    /// <summary>TP / (TP + FP + FN) (Jaccard); 1 when both masks are empty.</summary>
    public double IoU => Ratio(TruePositives, TruePositives + FalsePositives + FalseNegatives);

    /// <summary>TP / (TP + FP); 1 when nothing is predicted.</summary>
    public double Precision => Ratio(TruePositives, TruePositives + FalsePositives);

    /// <summary>TP / (TP + FN); 1 when the reference is empty.</summary>
    public double Recall => Ratio(TruePositives, TruePositives + FalseNegatives);

    /// <summary>IoU of the non-brain class: TN / (TN + FP + FN); 1 when neither mask has non-brain.</summary>
    public double NonBrainIoU => Ratio(TrueNegatives, TrueNegatives + FalsePositives + FalseNegatives);

    /// <summary>Share of the reference's brain called non-brain: FN / (TP + FN); 0 when the reference has no brain.</summary>
    public double TissueLoss => 1 - Recall;

    /// <summary>Recall of non-brain: TN / (TN + FP).</summary>
    public double Specificity => Ratio(TrueNegatives, TrueNegatives + FalsePositives);

    /// <summary>Compares two masks of the same shape.</summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static MaskMetrics Compute(Volume<byte> predicted, Volume<byte> reference, Volume<byte>? region = null)
    {
        if (predicted.Shape != reference.Shape)
        {
            throw new ArgumentException($"Prediction shape {predicted.Shape} differs from reference shape {reference.Shape}.", nameof(reference));
        }

        if (region is not null && region.Shape != reference.Shape)
        {
            throw new ArgumentException($"Region shape {region.Shape} differs from reference shape {reference.Shape}.", nameof(region));
        }

        return Count(predicted.Span, reference.Span, region is null ? default : region.Span);
    }

    /// <summary>The metrics of each section (z) on its own, as <see cref="Compute"/> gives them for the whole.</summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static MaskMetrics[] PerSection(Volume<byte> predicted, Volume<byte> reference, Volume<byte>? region = null)
    {
        Compute(predicted, reference, region); // the shape checks
        int plane = predicted.Shape.SliceLength;
        var sections = new MaskMetrics[predicted.Shape.Z];
        for (int z = 0; z < sections.Length; z++)
        {
            sections[z] = Count(predicted.Span.Slice(z * plane, plane), reference.Span.Slice(z * plane, plane), region is null ? default : region.Span.Slice(z * plane, plane));
        }

        return sections;
    }

    // The four counts over voxels where the region (empty: all) is nonzero.
    private static MaskMetrics Count(ReadOnlySpan<byte> p, ReadOnlySpan<byte> r, ReadOnlySpan<byte> g)
    {
        long tp = 0, fp = 0, fn = 0, tn = 0;
        for (int i = 0; i < p.Length; i++)
        {
            if (!g.IsEmpty && g[i] == 0)
            {
                continue;
            }

            bool pb = p[i] != 0, rb = r[i] != 0;
            if (pb && rb)
            {
                tp++;
            }
            else if (pb)
            {
                fp++;
            }
            else if (rb)
            {
                fn++;
            }
            else
            {
                tn++;
            }
        }

        return new MaskMetrics(tp, fp, fn, tn);
    }

    private static double Ratio(long numerator, long denominator) => denominator == 0 ? 1.0 : (double)numerator / denominator;
}
