using EmMask.Core.Labeling;
using EmMask.Core.PostProcessing;

namespace EmMask.Core.Tests.PostProcessing;

public class PostProcessPresetsTests
{
    [Fact]
    public void ReferencePresetIsExactlyTheReferenceOrder()
    {
        IMaskOperation[] expected =
        [
            new OpenOperation(3, perSlice: true),
            new KeepLargestOperation(1, Connectivity.Face),
            new FillHolesOperation(PerSlice: false),
            new GrowOperation(15),
        ];
        Assert.Equal(expected, PostProcessPresets.Get("reference").Operations);
    }

    [Theory]
    [InlineData("none", "none")]
    [InlineData("reference", "open2d:3,largest:1,fill3d,grow:15")]
    [InlineData("clean", "open2d:2")]
    [InlineData("tight", "open2d:3,largest:1,fill3d")]
    [InlineData("Clean", "open2d:2")]
    public void PresetsHaveDocumentedSteps(string name, string spec)
    {
        Assert.Equal(spec, PostProcessPresets.Get(name).ToSpec());
    }

    [Fact]
    public void AllListsEveryPresetAndEachRoundTrips()
    {
        Assert.Equal(["none", "reference", "clean", "tight"], PostProcessPresets.All.Keys);
        foreach (var preset in PostProcessPresets.All.Values)
        {
            Assert.Equal(preset.Operations, PostProcessPipeline.Parse(preset.ToSpec()).Operations);
        }
    }

    [Fact]
    public void UnknownPresetListsValidNames()
    {
        var e = Assert.Throws<ArgumentException>(() => PostProcessPresets.Get("fancy"));
        Assert.Contains("fancy", e.Message);
        Assert.Contains("none, reference, clean, tight", e.Message);
    }
}
