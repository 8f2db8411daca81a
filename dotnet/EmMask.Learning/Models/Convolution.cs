using TorchSharp;
using static TorchSharp.torch;

namespace EmMask.Learning.Models;

/// <summary>
/// MONAI's <c>Convolution</c>: a (transposed) 3-D convolution <c>conv</c> with "same" padding,
/// followed by an <c>adn</c> block unless <c>conv_only</c>. Transposed convolutions use
/// output_padding = stride - 1 so a stride-2 layer exactly doubles the size, as MONAI does.
/// </summary>
internal sealed class Convolution : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> conv;
    private readonly Adn? adn;

    public Convolution(int inChannels, int outChannels, int strides, int kernel, double dropout,
        bool convOnly = false, bool isTransposed = false) : base("Convolution")
    {
        int padding = (kernel - 1) / 2;
        conv = isTransposed
            ? nn.ConvTranspose3d(inChannels, outChannels, kernel, stride: strides, padding: padding, output_padding: strides - 1)
            : nn.Conv3d(inChannels, outChannels, kernel, stride: strides, padding: padding);
        adn = convOnly ? null : new Adn(outChannels, dropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        if (adn is null) return conv.forward(input);
        using var c = conv.forward(input);
        return adn.forward(c);
    }
}
