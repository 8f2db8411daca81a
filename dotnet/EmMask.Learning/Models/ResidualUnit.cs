using EmMask.Learning.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace EmMask.Learning.Models;

/// <summary>
/// MONAI's <c>ResidualUnit</c>: <c>conv</c> is a sequence <c>unit0..unitN-1</c> of
/// <see cref="Convolution"/> (the first carries the stride), and <c>residual</c> is identity or, when
/// the stride or channel count changes, a convolution (kernel 1 without stride, else the full kernel).
/// Output = conv(x) + residual(x).
/// </summary>
internal sealed class ResidualUnit : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> conv;
    private readonly nn.Module<Tensor, Tensor> residual;

    public ResidualUnit(int inChannels, int outChannels, int strides, int kernel, int subunits, double dropout,
        bool lastConvOnly = false) : base("ResidualUnit")
    {
        subunits = Math.Max(1, subunits);
        var units = new (string, nn.Module<Tensor, Tensor>)[subunits];
        int sch = inChannels, sst = strides;
        for (int su = 0; su < subunits; su++)
        {
            bool convOnly = lastConvOnly && su == subunits - 1;
            units[su] = ($"unit{su}", new Convolution(sch, outChannels, sst, kernel, dropout, convOnly));
            sch = outChannels;
            sst = 1;
        }
        conv = nn.Sequential(units);
        if (strides != 1 || inChannels != outChannels)
        {
            int rk = strides == 1 ? 1 : kernel;
            int rp = strides == 1 ? 0 : (kernel - 1) / 2;
            residual = nn.Conv3d(inChannels, outChannels, rk, stride: strides, padding: rp);
        }
        else
        {
            residual = nn.Identity();
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var res = residual.forward(input);
        var cx = conv.forward(input);
        return cx.add(res, Scalars.One).MoveToOuterDisposeScope();
    }
}
