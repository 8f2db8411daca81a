using EmMask.Core.Volumes;
using EmMask.Learning.Inference;
using EmMask.Learning.Models;
using static TorchSharp.torch;

namespace EmMask.Learning.Tests.Inference;

public class UNetPatchPredictorTests
{
    [Fact]
    public void ProbabilitiesAreSigmoidOfTheMonaiReferenceLogits()
    {
        var (x, _) = TestNpy.Read(TestNpy.Fixture("MonaiUNet", "small_res2_input.npy"));
        var (y, _) = TestNpy.Read(TestNpy.Fixture("MonaiUNet", "small_res2_output.npy"));
        using var predictor = UNetPatchPredictor.FromFile(TestNpy.Fixture("MonaiUNet", "small_res2.pt"), "cpu");
        var prob = new float[y.Length];
        predictor.PredictChannels(x, 2, new Shape3(16, 16, 16), prob);
        for (int i = 0; i < y.Length; i++)
            Assert.True(Math.Abs(1 / (1 + Math.Exp(-y[i])) - prob[i]) < 1e-5, $"voxel {i}");
        Assert.Equal("cpu", predictor.Device.ToLowerInvariant());
    }

    [Fact]
    public void BadShapesAreRejected()
    {
        using var predictor = new UNetPatchPredictor(new MonaiUNet(new UNetConfig(3, 1, 1, [4, 8, 16], [2, 2], 2, 3, 3, 0)));
        var buf = new float[10 * 16 * 16];
        Assert.Equal("patch", Assert.Throws<ArgumentOutOfRangeException>(() => predictor.PredictChannels(buf, 1, new Shape3(10, 16, 16), buf)).ParamName);
        Assert.Equal("batch", Assert.Throws<ArgumentException>(() => predictor.PredictChannels(buf, 2, new Shape3(8, 8, 8), new float[1024])).ParamName);
        Assert.Equal("batchSize", Assert.Throws<ArgumentOutOfRangeException>(() => predictor.PredictChannels(buf, 0, new Shape3(8, 8, 8), buf)).ParamName);
    }
}
