using EmMask.Core.Volumes;
using EmMask.Learning.Models;
using EmMask.Learning.Tests.Native;
using EmMask.Learning.Training;
using static TorchSharp.torch;

namespace EmMask.Learning.Tests.Training;

/// <summary>
/// TorchSharp 0.107 passes a temporary Scalar's native handle without keeping the object alive, so a collection during
/// the native call can finalize it while libtorch reads it (EmMask.Learning.Native.Scalars). The network's forward
/// pass and the loss hold their scalars; this runs them, and the backward pass, beside a thread that collects
/// continuously. Fully optimised code is what exposes the race (the worker runs with TieredCompilation off; the test
/// project too, see its csproj): with the sum in ResidualUnit.forward written as <c>cx + res</c> this failed within a
/// few steps ("Expected false to be true ... toFloat").
/// </summary>
[Collection(ContinuousCollector.Collection)]
[Trait("Category", ContinuousCollector.Category)]
public class CollectorRaceTests
{
    [Fact]
    public void Forward_loss_and_backward_survive_a_collector_running_beside_them()
    {
        using var model = new MonaiUNet(new UNetConfig(3, 1, 1, [4, 8, 16], [2, 2], 2, 3, 3, 0));
        var ball = SyntheticVolumes.Ball(16, 1);
        using var x = tensor(ball.Image.Span.ToArray(), [1, 1, 16, 16, 16]);
        using var y = tensor(ball.Labels.Span.ToArray().Select(v => (float)v).ToArray(), [1, 1, 16, 16, 16]);
        using var w = ones_like(y);
        using var collector = new ContinuousCollector();
        for (int step = 0; collector.Continues(step, 1000); step++)
        {
            using var scope = NewDisposeScope();
            model.zero_grad();
            var loss = DiceCELoss.Compute(model.forward(x), y, w);
            loss.backward();
            Assert.True(float.IsFinite(loss.item<float>()));
        }
    }

    /// <summary>
    /// Building the network: TorchSharp's PReLU constructor sets its slope with <c>fill_(init)</c>, a temporary Scalar.
    /// A CLI U-Net run failed on it on 2026-12-06 ("Expected false to be true ... toFloat" from fill__Scalar while the
    /// worker built its model); every ADN block now builds its PReLU from an array (ParametricRelu). Before that, 5000 builds
    /// (105 s) failed 1 of 2 runs; the run now stops at <see cref="ContinuousCollector.TimeLimit"/> (about 1400 builds).
    /// </summary>
    [Fact]
    public void Building_the_network_survives_a_collector_running_beside_it()
    {
        using var collector = new ContinuousCollector();
        for (int build = 0; collector.Continues(build, 5000); build++)
        {
            using var model = new MonaiUNet(new UNetConfig(3, 1, 1, [4, 8, 16], [2, 2], 2, 3, 3, 0));
            Assert.NotEmpty(model.parameters());
        }
    }
}
