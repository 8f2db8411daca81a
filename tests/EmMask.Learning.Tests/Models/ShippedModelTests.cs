using EmMask.Core.Phantom;
using EmMask.Core.Volumes;
using EmMask.Learning.Models;
using EmMask.Learning.Preprocessing;
using EmMask.Learning.Training;

namespace EmMask.Learning.Tests.Models;

/// <summary>The committed models/em-mask-unet-v1.safetensors loads and segments a held-out phantom.</summary>
public class ShippedModelTests
{
    private static string ShippedPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var p = Path.Combine(dir.FullName, "models", "em-mask-unet-v1.safetensors");
            if (File.Exists(p)) return p;
        }
        throw new FileNotFoundException("models/em-mask-unet-v1.safetensors not found above the test binaries");
    }

    [Fact]
    public void LoadsWithDefaultArchitectureAndNormalisationId()
    {
        var path = ShippedPath();
        var (model, config) = ModelStore.Load(path);
        model.Dispose();
        Assert.Equal(UNetConfig.Default, config);
        Assert.Equal(IntensityNormalization.Id, ModelStore.ReadMetadata(path)["emmask.normalization"]);
        Assert.True(new FileInfo(path).Length < 25_000_000);
    }

    [Theory]
    [InlineData(3001, false)]
    [InlineData(3002, true)]
    public void SegmentsAHeldOutPhantom(int seed, bool invert)
    {
        var phantom = EmPhantom.Generate(new PhantomOptions { Seed = seed, Shape = new Shape3(32, 64, 64), Invert = invert, TissueFraction = 0.5 });
        var (model, _) = ModelStore.Load(ShippedPath());
        using var _m = model;
        var image = TrainingVolume.FromRaw(phantom.Raw, phantom.Truth).Image;
        var prob = UNetTrainer.PredictCentre(model, image, image.Shape, out _, out _);
        var truth = phantom.Truth.Span;
        long inter = 0, sum = 0;
        for (int i = 0; i < prob.Length; i++)
        {
            bool p = prob[i] >= 0.5f, g = truth[i] != 0;
            inter += p && g ? 1 : 0;
            sum += (p ? 1 : 0) + (g ? 1 : 0);
        }
        double dice = 2.0 * inter / sum;
        Assert.True(dice > 0.9, $"Dice {dice:F4}");
    }
}
