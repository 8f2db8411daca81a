using static TorchSharp.torch;

namespace EmMask.Learning.Models;

/// <summary>
/// MONAI's activation: PReLU with one learnable slope, 0.25 at first, its parameter named <c>weight</c> as PyTorch's is
/// (so checkpoints load unchanged). Built here rather than with TorchSharp's <c>nn.PReLU</c>, whose constructor sets
/// the slope with <c>fill_(init)</c>, a temporary Scalar that a collection can finalize while libtorch reads it
/// (<see cref="Native.Scalars"/>): a CLI U-Net run failed on it once on 2026-12-06, while its worker built the model.
/// The slope is made from an array; no scalar is involved.
/// </summary>
internal sealed class ParametricRelu : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // PyTorch's parameter name, for state_dict compatibility
    private readonly TorchSharp.Modules.Parameter weight;
#pragma warning restore IDE1006

    /// <summary>One slope, <paramref name="init"/> at first.</summary>
    public ParametricRelu(float init = 0.25f) : base("PReLU")
    {
        weight = new TorchSharp.Modules.Parameter(tensor(new[] { init }));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => input.prelu(weight);
}
