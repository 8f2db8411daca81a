using TorchSharp;
using static TorchSharp.torch;

namespace EmMask.Learning.Models;

/// <summary>MONAI's <c>SkipConnection</c> (mode "cat"): concatenates the input and <c>submodule</c>'s output on channels.</summary>
internal sealed class SkipConnection : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> submodule;

    public SkipConnection(nn.Module<Tensor, Tensor> submodule) : base("SkipConnection")
    {
        this.submodule = submodule;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var y = submodule.forward(input);
        return cat([input, y], 1).MoveToOuterDisposeScope();
    }
}
