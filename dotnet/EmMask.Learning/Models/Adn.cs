using TorchSharp;
using static TorchSharp.torch;

namespace EmMask.Learning.Models;

/// <summary>
/// MONAI's ADN block with ordering "NDA": instance norm (N, affine=False, so no state), dropout (D,
/// parameter-free) and PReLU (A, one learnable slope). Field names are MONAI's module names.
/// </summary>
internal sealed class Adn : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // names must equal MONAI's module names for state_dict compatibility
    private readonly nn.Module<Tensor, Tensor> N;
    private readonly nn.Module<Tensor, Tensor> D;
    private readonly nn.Module<Tensor, Tensor> A;
#pragma warning restore IDE1006

    public Adn(int channels, double dropout) : base("ADN")
    {
        N = nn.InstanceNorm3d(channels, eps: 1e-5, momentum: 0.1, affine: false, track_running_stats: false);
        D = nn.Dropout(dropout);
        A = new ParametricRelu(0.25f);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var n = N.forward(input);
        using var d = D.forward(n);
        return A.forward(d);
    }
}
