using EmMask.Core.Inference;
using EmMask.Core.Volumes;

namespace EmMask.Remote;

/// <summary>
/// The proofread labels of a finetune request travel in the shared file's float32 region: 1 tissue, 0 non-brain, any
/// other value (255, NaN) not proofread. Both sides convert here.
/// </summary>
public static class FineTuneLabels
{
    /// <summary>Writes 0/1/<see cref="FineTuneOptions.NotProofread"/> labels into the float32 region.</summary>
    public static void ToWire(Volume<byte> labels, Volume<float> wire)
    {
        var l = labels.Span;
        var w = wire.Span;
        for (int i = 0; i < l.Length; i++)
        {
            w[i] = l[i];
        }
    }

    /// <summary>Reads the float32 region back as 0/1/<see cref="FineTuneOptions.NotProofread"/> labels.</summary>
    public static Volume<byte> FromWire(Volume<float> wire)
    {
        var labels = new Volume<byte>(wire.Shape);
        var w = wire.Span;
        var l = labels.Span;
        for (int i = 0; i < w.Length; i++)
        {
            l[i] = w[i] == 0 ? (byte)0 : w[i] == 1 ? (byte)1 : FineTuneOptions.NotProofread;
        }

        return labels;
    }
}
