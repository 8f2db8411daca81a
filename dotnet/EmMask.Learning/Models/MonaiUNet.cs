using TorchSharp;
using static TorchSharp.torch;

namespace EmMask.Learning.Models;

/// <summary>
/// A 3-D U-Net whose module tree, and therefore every <c>state_dict</c> key and shape, equals
/// MONAI's <c>monai.networks.nets.UNet</c> (MONAI 1.x) with instance norm (affine=False), PReLU,
/// ADN ordering "NDA" and bias. Checkpoints trained with MONAI load directly (see <c>ModelStore</c>).
/// </summary>
/// <remarks>
/// The output is raw logits (N, OutChannels, Z, Y, X); apply a sigmoid for probabilities
/// (<c>UNetPatchPredictor</c> does). Every spatial input size must be a multiple of
/// <see cref="UNetConfig.SizeDivisor"/>.
/// </remarks>
public sealed class MonaiUNet : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> model;

    /// <summary>Builds the network with freshly initialised (PyTorch default) weights.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The configuration is invalid.</exception>
    public MonaiUNet(UNetConfig config) : base("UNet")
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        model = CreateBlock(config.InChannels, config.OutChannels, 0, isTop: true);
        RegisterComponents();
    }

    /// <summary>The architecture this network was built with.</summary>
    public UNetConfig Config { get; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return model.forward(input).MoveToOuterDisposeScope();
    }

    // MONAI's _create_block: down layer, SkipConnection(sub-block or bottom layer), up layer.
    private nn.Module<Tensor, Tensor> CreateBlock(int inChannels, int outChannels, int level, bool isTop)
    {
        var ch = Config.Channels;
        int c = ch[level], s = Config.Strides[level];
        nn.Module<Tensor, Tensor> sub;
        int upChannels;
        if (ch.Count - level > 2)
        {
            sub = CreateBlock(c, c, level + 1, isTop: false);
            upChannels = c * 2;
        }
        else
        {
            sub = DownLayer(c, ch[level + 1], 1); // MONAI's bottom layer
            upChannels = c + ch[level + 1];
        }
        var down = DownLayer(inChannels, c, s);
        var up = UpLayer(upChannels, outChannels, s, isTop);
        return nn.Sequential(down, new SkipConnection(sub), up);
    }

    private nn.Module<Tensor, Tensor> DownLayer(int inChannels, int outChannels, int strides) =>
        Config.NumResUnits > 0
            ? new ResidualUnit(inChannels, outChannels, strides, Config.Kernel, Config.NumResUnits, Config.Dropout)
            : new Convolution(inChannels, outChannels, strides, Config.Kernel, Config.Dropout);

    private nn.Module<Tensor, Tensor> UpLayer(int inChannels, int outChannels, int strides, bool isTop)
    {
        var conv = new Convolution(inChannels, outChannels, strides, Config.UpKernel, Config.Dropout,
            convOnly: isTop && Config.NumResUnits == 0, isTransposed: true);
        if (Config.NumResUnits == 0) return conv;
        var ru = new ResidualUnit(outChannels, outChannels, 1, Config.Kernel, 1, Config.Dropout, lastConvOnly: isTop);
        return nn.Sequential(conv, ru);
    }
}
