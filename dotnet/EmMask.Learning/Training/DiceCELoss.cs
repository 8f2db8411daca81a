using static TorchSharp.torch;

namespace EmMask.Learning.Training;

/// <summary>
/// Dice + binary cross-entropy on logits, both weighted by a 0/1 voxel mask (padding and
/// unlabelled voxels weigh 0). Like MONAI's <c>DiceCELoss(sigmoid=True, batch=True)</c>: the soft
/// Dice pools the whole batch (stable for patches without any tissue), smoothing 1e-5.
/// </summary>
internal static class DiceCELoss
{
    private const double Smooth = 1e-5;

    public static Tensor Compute(Tensor logits, Tensor target, Tensor weight)
    {
        using var scope = NewDisposeScope();
        var wsum = weight.sum().clamp_min(1.0);
        var bce = (nn.functional.binary_cross_entropy_with_logits(logits, target, reduction: nn.Reduction.None) * weight).sum() / wsum;
        var p = sigmoid(logits) * weight;
        var intersection = (p * target).sum();
        var denominator = p.sum() + (target * weight).sum();
        var dice = 1.0 - (2.0 * intersection + Smooth) / (denominator + Smooth);
        return (bce + dice).MoveToOuterDisposeScope();
    }
}
