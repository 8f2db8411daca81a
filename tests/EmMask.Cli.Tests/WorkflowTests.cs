using System.Text.Json;
using EmMask.Core.Volumes;
using EmMask.IO;

namespace EmMask.Cli.Tests;

/// <summary>The documented workflows: phantom, mask with parameters and attributes, post-process, eval.</summary>
public class WorkflowTests
{
    [Fact]
    public void PhantomMaskPostprocessEval()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "2", "--shape", "32", "96", "96", "-q").ExitCode);
        var mask = CliRunner.Invoke("mask", t["p.h5"], t["m.h5"], "--postprocess", "none", "--block-size", "7", "--confidence", t["c.h5"], "--json", "-q");
        Assert.Equal(0, mask.ExitCode);
        var summary = JsonDocument.Parse(mask.Stdout).RootElement;
        Assert.Equal("classical", summary.GetProperty("Method").GetString());

        var attributes = VolumeReader.ReadAttributes(VolumePath.Parse(t["m.h5"], "/mask"));
        Assert.Equal("classical", attributes["method"]);
        Assert.Contains("\"block_size\":\"7\"", attributes["parameters"], StringComparison.Ordinal);
        Assert.StartsWith("emmask ", attributes["version"], StringComparison.Ordinal);
        Assert.IsType<Volume<float>>(VolumeReader.Read(VolumePath.Parse(t["c.h5"], "/confidence")));

        Assert.Equal(0, CliRunner.Invoke("postprocess", t["m.h5"], t["m2.h5"], "open2d:1", "largest", "fill3d", "-q").ExitCode);
        Assert.Equal("open2d:1,largest:1,fill3d", VolumeReader.ReadAttributes(VolumePath.Parse(t["m2.h5"], "/mask"))["postprocess"]);

        var eval = CliRunner.Invoke("eval", t["m2.h5"], t["p.h5"], "--json");
        Assert.Equal(0, eval.ExitCode);
        var scores = JsonDocument.Parse(eval.Stdout).RootElement;
        Assert.True(scores.GetProperty("dice").GetDouble() > 0.9, eval.Stdout);
        Assert.InRange(scores.GetProperty("iou").GetDouble(), 0, scores.GetProperty("dice").GetDouble());
    }

    [Fact]
    public void MaskHasInputShapeAndUint8ForEveryFormat()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--shape", "8", "40", "56", "-q").ExitCode);
        foreach (var output in new[] { t["m.tif"], t["m.npy"], t["m.h5"] + ":/seg/mask" })
        {
            Assert.Equal(0, CliRunner.Invoke("mask", t["p.h5"], output, "-q").ExitCode);
            var m = VolumeReader.Read(VolumePath.Parse(output, "/mask"));
            Assert.Equal(new Shape3(8, 40, 56), m.Shape);
            Assert.IsType<Volume<byte>>(m);
        }
    }
}
