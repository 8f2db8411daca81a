using TorchSharp;
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

    // Held for the process: a temporary Scalar can be finalized while libtorch reads it (Native.Scalars). Every add
    // names its alpha: add(scalar) alone makes a temporary 1.
    private static readonly Scalar One = 1.0.ToScalar(), Two = 2.0.ToScalar(), SmoothScalar = Smooth.ToScalar();

    public static Tensor Compute(Tensor logits, Tensor target, Tensor weight)
    {
        using var scope = NewDisposeScope();
        var wsum = weight.sum().clamp_min(One);
        var bce = (nn.functional.binary_cross_entropy_with_logits(logits, target, reduction: nn.Reduction.None) * weight).sum() / wsum;
        var p = sigmoid(logits) * weight;
        var intersection = (p * target).sum();
        var denominator = p.sum().add(target.mul(weight).sum(), One);
        var dice = intersection.mul(Two).add(SmoothScalar, One).div(denominator.add(SmoothScalar, One)).neg().add(One, One);
        return bce.add(dice, One).MoveToOuterDisposeScope();
    }
}
