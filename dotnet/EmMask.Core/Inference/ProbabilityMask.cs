using EmMask.Core.Volumes;

namespace EmMask.Core.Inference;

/// <summary>The U-Net's mask from its probabilities: one rule for every path (CLI, worker, Python bridge).</summary>
public static class ProbabilityMask
{
    /// <summary>Probability at or above which a voxel is tissue.</summary>
    public const float Threshold = 0.5f;

    /// <summary>1 where probability ≥ <see cref="Threshold"/>, else 0; the voxel size is kept.</summary>
    public static Volume<byte> From(Volume<float> probability)
    {
        ArgumentNullException.ThrowIfNull(probability);
        var mask = probability.Like<byte>();
        var p = probability.Span;
        var m = mask.Span;
        for (int i = 0; i < m.Length; i++)
        {
            m[i] = p[i] >= Threshold ? (byte)1 : (byte)0;
        }

        mask.VoxelSize = probability.VoxelSize;
        return mask;
    }
}
