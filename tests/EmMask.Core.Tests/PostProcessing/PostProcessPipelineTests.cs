using EmMask.Core.Labeling;
using EmMask.Core.Morphology;
using EmMask.Core.PostProcessing;
using EmMask.Core.Progress;
using EmMask.Core.Tests.Morphology;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.PostProcessing;

public class PostProcessPipelineTests
{
    [Fact]
    public void ParsesEveryStepOfTheGrammar()
    {
        var pipeline = PostProcessPipeline.Parse(
            " open2d:3, open3d:1.5 ,close2d:2,close3d:0.5,largest,largest:2,largest:3:26,fill3d,FILL2D,grow:15,erode:2.25,minsize:100,minsize:7:18");

        IMaskOperation[] expected =
        [
            new OpenOperation(3, perSlice: true),
            new OpenOperation(1.5, perSlice: false),
            new CloseOperation(2, perSlice: true),
            new CloseOperation(0.5, perSlice: false),
            new KeepLargestOperation(1, Connectivity.Face),
            new KeepLargestOperation(2),
            new KeepLargestOperation(3, Connectivity.Vertex),
            new FillHolesOperation(PerSlice: false),
            new FillHolesOperation(PerSlice: true),
            new GrowOperation(15),
            new ErodeOperation(2.25),
            new RemoveSmallRegionsOperation(100),
            new RemoveSmallRegionsOperation(7, Connectivity.Edge),
        ];
        Assert.Equal(expected, pipeline.Operations);
        Assert.Equal(
            "open2d:3,open3d:1.5,close2d:2,close3d:0.5,largest:1,largest:2,largest:3:26,fill3d,fill2d,grow:15,erode:2.25,minsize:100,minsize:7:18",
            pipeline.ToSpec());
    }

    [Theory]
    [InlineData("open2d:3,largest:1:6,fill3d,grow:15")]
    [InlineData("close3d:0.1,minsize:0:26,erode:1e-3,largest:5:18,fill2d")]
    [InlineData("none")]
    public void ToSpecRoundTrips(string spec)
    {
        var pipeline = PostProcessPipeline.Parse(spec);
        var again = PostProcessPipeline.Parse(pipeline.ToSpec());
        Assert.Equal(pipeline.Operations, again.Operations);
        Assert.Equal(pipeline.ToSpec(), again.ToSpec());
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("none")]
    [InlineData("NONE")]
    public void EmptySpecsGiveEmptyPipeline(string spec)
    {
        var pipeline = PostProcessPipeline.Parse(spec);
        Assert.Empty(pipeline.Operations);
        Assert.Equal("none", pipeline.ToSpec());
    }

    [Theory]
    [InlineData("dilate:3", "dilate:3")]
    [InlineData("open2d", "open2d")]
    [InlineData("open2d:x", "open2d:x")]
    [InlineData("open2d:-1", "open2d:-1")]
    [InlineData("grow:NaN", "grow:NaN")]
    [InlineData("grow:1,5", "5")]
    [InlineData("grow:1,,fill3d", "Empty")]
    [InlineData("largest:0", "largest:0")]
    [InlineData("largest:1:8", "largest:1:8")]
    [InlineData("largest:1.5", "largest:1.5")]
    [InlineData("fill3d:2", "fill3d:2")]
    [InlineData("minsize:-4", "minsize:-4")]
    [InlineData("minsize", "minsize")]
    [InlineData("erode:1:2", "erode:1:2")]
    [InlineData("none,fill3d", "none")]
    public void BadSpecsThrowOneLineNamingTheToken(string spec, string token)
    {
        var e = Assert.Throws<ArgumentException>(() => PostProcessPipeline.Parse(spec));
        Assert.Contains(token, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain("(Parameter", e.Message);
    }

    [Fact]
    public void OperationConstructorsValidate()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new OpenOperation(-1, true));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CloseOperation(double.NaN, false));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GrowOperation(double.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ErodeOperation(-0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new KeepLargestOperation(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new KeepLargestOperation(1, (Connectivity)4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RemoveSmallRegionsOperation(-1));
        Assert.Throws<ArgumentException>(() => new PostProcessPipeline([new GrowOperation(1), null!]));
    }

    [Fact]
    public void ApplyRunsStepsInOrderInPlaceAndReportsProgress()
    {
        var mask = MaskFixtures.Load<byte>("morph_mask");
        var expected = mask.Clone();
        MaskMorphology.Open(expected, 1, perSlice: true);
        MaskMorphology.KeepLargestComponents(expected, 1);
        MaskMorphology.FillHoles(expected, perSlice: false);
        MaskMorphology.Grow(expected, 2);

        var reports = new List<ProgressReport>();
        var buffer = mask.Span.ToArray();
        var wrapped = new Volume<byte>(mask.Shape, buffer);
        PostProcessPipeline.Parse("open2d:1,largest,fill3d,grow:2").Apply(wrapped, new SyncProgress(reports));

        MaskFixtures.EqualMasks(expected, new Volume<byte>(mask.Shape, buffer));
        Assert.Equal(["post-process: open2d:1", "post-process: largest:1", "post-process: fill3d", "post-process: grow:2", "post-process"], reports.Select(r => r.Stage));
        Assert.Equal([0, 0.25, 0.5, 0.75, 1], reports.Select(r => r.Fraction));
    }

    [Fact]
    public void ApplyHonoursCancellation()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var mask = new Volume<byte>(new Shape3(2, 3, 4));
        Assert.ThrowsAny<OperationCanceledException>(() => PostProcessPipeline.Parse("grow:1").Apply(mask, ct: cts.Token));
    }

    private sealed class SyncProgress(List<ProgressReport> sink) : IProgress<ProgressReport>
    {
        public void Report(ProgressReport value) => sink.Add(value);
    }
}

public class PostProcessDegenerateShapeTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(1, 1, 9)]
    [InlineData(1, 9, 1)]
    [InlineData(9, 1, 1)]
    [InlineData(0, 4, 4)]
    [InlineData(3, 4, 5)]
    public void EveryStepRunsOnThinEmptyAndFullMasks(int z, int y, int x)
    {
        var spec = "open2d:3,open3d:1.5,close2d:2,close3d:1,largest:2:26,fill3d,fill2d,grow:2,erode:1,minsize:3:18";
        var shape = new Shape3(z, y, x);
        foreach (double density in new[] { 0.0, 0.5, 1.0 })
        {
            var mask = MaskFixtures.RandomMask(shape, density, z + y + x);
            foreach (var op in PostProcessPipeline.Parse(spec).Operations)
            {
                var before = mask.Clone();
                op.Apply(mask, CancellationToken.None);
                Assert.All(mask.Span.ToArray(), v => Assert.True(v <= 1));
                if (op is OpenOperation or ErodeOperation or KeepLargestOperation or RemoveSmallRegionsOperation)
                {
                    Assert.True(MaskFixtures.IsSubset(mask, before), op.ToSpec());
                }
                else
                {
                    Assert.True(MaskFixtures.IsSubset(before, mask), op.ToSpec());
                }

                if (density == 1.0 && !(op is RemoveSmallRegionsOperation && shape.Length < 3))
                {
                    Assert.True(shape.Length == MaskFixtures.Count(mask), op.ToSpec()); // nothing eats a full mask: outside is not background
                }

                if (density == 0.0)
                {
                    Assert.Equal(0, MaskFixtures.Count(mask));
                }
            }
        }
    }
}
