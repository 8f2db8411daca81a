using EmMask.Core.Blockwise;
using EmMask.Core.Inference;
using EmMask.Core.Volumes;
using EmMask.Learning.Inference;
using EmMask.Learning.Models;
using static TorchSharp.torch;

namespace EmMask.Learning.Tests.Inference;

/// <summary>
/// The block-wise U-Net blends the windows of the whole volume (UNetBlockwise.Geometry), so its probabilities are the
/// in-memory run's. A small untrained network is enough to see it: its output depends on where a window sits (zero
/// padding at the window's edges), so any other window grid changes the blend. Until 2026-12-07 two shapes broke it:
/// a stack predicted section by section, whose windows are wider in-plane (96 against the volume's 64), and a last
/// block whose read region was shorter than a window (its window was then padded and centred, not the whole volume's
/// last one).
/// </summary>
public class UNetBlockwiseGridTests
{
    [Theory]
    [InlineData(6, 160, 256, 128, 40, 1)] // serial sections (40 nm against 8): section by section; a last block along y of 16 rows
    [InlineData(20, 96, 200, 96, 8, 1)] // a volume; a last block along x of 8 columns
    [InlineData(3, 300, 420, 128, 40, 2)] // sections at working scale 2 (in-plane only)
    [InlineData(24, 200, 264, 128, 8, 2)] // a volume at working scale 2
    public void BlocksGiveTheInMemoryProbabilities(int depth, int height, int width, int blockEdge, double zNm, int scale)
    {
        var volume = Textured(new Shape3(depth, height, width), new VoxelSize(zNm, 8, 8));
        using var network = new Untrained();
        var masker = new UNetMasker(network);
        // "builtin:" keeps the device alone; the provider hands out the untrained network whatever the name.
        var options = new UNetMaskOptions { Model = "builtin:untrained", Envelope = false, Hysteresis = 0, Tta = 1, Scale = scale };

        var memory = masker.Run(volume, options).Result.Confidence;
        var blocks = new Volume<float>(volume.Shape);
        var mask = UNetBlockwise.Run(new VolumeBlockSource(volume), new MemoryBlockStore(), masker, options, blockEdge,
            confidence: (block, core) => VolumeRegions.Paste(core, blocks, block.Core));

        Assert.True(mask.Grid.Count > 1, $"one block of {mask.Grid.BlockSize}: nothing to compare");
        var m = memory.Span;
        var b = blocks.Span;
        int differ = 0;
        float worst = 0;
        for (int i = 0; i < m.Length; i++)
        {
            float d = Math.Abs(m[i] - b[i]);
            worst = Math.Max(worst, d);
            differ += d > 1e-5f ? 1 : 0;
        }

        Assert.True(differ == 0, $"{differ} voxels differ (by up to {worst}) between {mask.Grid.Count} blocks of {mask.Grid.BlockSize} and the whole volume");
    }

    /// <summary>A random-texture volume with a smooth gradient, so windows at different places see different input.</summary>
    private static Volume<float> Textured(Shape3 shape, VoxelSize voxel)
    {
        var v = new Volume<float>(shape, voxel);
        var random = new Random(5);
        var s = v.Span;
        for (int i = 0; i < s.Length; i++)
        {
            long x = i % shape.X, y = i / shape.X % shape.Y;
            s[i] = (float)(random.NextDouble() + (0.01 * x) - (0.005 * y));
        }

        return v;
    }

    /// <summary>One small untrained U-Net (two output channels, as the shipped models), for any model name.</summary>
    private sealed class Untrained : IPredictorProvider, IDisposable
    {
        private readonly UNetPatchPredictor network;

        public Untrained()
        {
            manual_seed(11);
            network = new UNetPatchPredictor(new MonaiUNet(new UNetConfig(3, 1, 2, [4, 8, 16], [2, 2], 1, 3, 3, 0)));
        }

        public LoadedModel Get(string modelPath, string device, Precision precision = Precision.Fp32) => new(network, network.SizeDivisor);

        public void Dispose() => network.Dispose();
    }
}
