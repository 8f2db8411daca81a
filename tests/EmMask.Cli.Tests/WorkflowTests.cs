using System.Text.Json;
using EmMask.Core.Phantom;
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
    public void PhantomTracheaeAreTheNonBrainInsideTissue()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "5", "--shape", "32", "64", "64", "--tracheae", "-q").ExitCode);
        var truth = ((Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["p.h5"], "/gt"))).Span.ToArray();
        var tracheae = ((Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["p.h5"], "/tracheae"))).Span.ToArray();
        int count = 0;
        for (int i = 0; i < truth.Length; i++)
        {
            count += tracheae[i];
            Assert.True(tracheae[i] == 0 || truth[i] == 0, $"voxel {i} is trachea and brain");
        }

        Assert.True(count > 100, $"{count} trachea voxels");
        Assert.Equal(0, CliRunner.Invoke("phantom", t["plain.h5"], "--seed", "5", "--shape", "32", "64", "64", "-q").ExitCode);
        Assert.Equal(truth, ((Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["plain.h5"], "/gt"))).Span.ToArray());
        Assert.Throws<VolumeFormatException>(() => VolumeReader.Read(VolumePath.Parse(t["plain.h5"], "/tracheae")));
    }

    [Fact]
    public void ClassicalOptionsComeFromFlagsAndPresetFiles()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "2003", "--shape", "64", "128", "128", "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke("mask", t["p.h5"], t["on.h5"], "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke("mask", t["p.h5"], t["off.h5"], "--dense-threshold", "0", "-q").ExitCode);
        File.WriteAllText(t["preset.json"], "{\"dense_threshold\": 0, \"mode\": \"3d\", \"level\": \"auto\"}");
        Assert.Equal(0, CliRunner.Invoke("mask", t["p.h5"], t["preset.h5"], "--preset", t["preset.json"], "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke("mask", t["p.h5"], t["override.h5"], "--preset", t["preset.json"], "--dense-threshold", "1.5", "--mode", "auto", "-q").ExitCode);

        byte[] Read(string name) => ((Volume<byte>)VolumeReader.Read(VolumePath.Parse(t[name], "/mask"))).Span.ToArray();
        Assert.NotEqual(Read("on.h5"), Read("off.h5"));
        Assert.Equal(Read("off.h5"), Read("preset.h5"));
        Assert.Equal(Read("on.h5"), Read("override.h5"));
        var parameters = VolumeReader.ReadAttributes(VolumePath.Parse(t["preset.h5"], "/mask"))["parameters"];
        Assert.Contains("\"dense_threshold\":\"0\"", parameters, StringComparison.Ordinal);
        Assert.Contains("\"mode\":\"3d\"", parameters, StringComparison.Ordinal);
        Assert.Contains("\"isotropy\":\"0.06\"", parameters, StringComparison.Ordinal);

        var bad = CliRunner.Invoke("mask", t["p.h5"], t["bad.h5"], "--dense-threshold", "-1", "-q");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("dense_threshold", bad.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(t["bad.h5"]));
        File.WriteAllText(t["old.json"], "{\"dense_gap\": 16}");
        var old = CliRunner.Invoke("mask", t["p.h5"], t["bad.h5"], "--preset", t["old.json"], "-q");
        Assert.Equal(2, old.ExitCode);
        Assert.Contains("dense_gap", old.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, CliRunner.Invoke("mask", t["p.h5"], t["bad.h5"], "--mode", "4d", "-q").ExitCode);
        Assert.Equal(2, CliRunner.Invoke("mask", t["p.h5"], t["bad.h5"], "--level", "9", "-q").ExitCode);
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

    [Fact]
    public void EvalReportsNonBrainIoUAndIgnoresUnlabelledVoxels()
    {
        using var t = new TempFolder();
        // Reference: 0 (x < 4), 255 (x = 4, unlabelled), 1 (x > 4); prediction: 0 for x < 3, 1 elsewhere.
        NpyCraft.Write(t["gt.npy"], "|u1", [1, 2, 10], [.. Enumerable.Range(0, 20).Select(i => (byte)(i % 10 < 4 ? 0 : i % 10 == 4 ? 255 : 1))]);
        NpyCraft.Write(t["p.npy"], "|u1", [1, 2, 10], [.. Enumerable.Range(0, 20).Select(i => (byte)(i % 10 < 3 ? 0 : 1))]);
        var eval = CliRunner.Invoke("eval", t["p.npy"], t["gt.npy"], "--json");
        Assert.Equal(0, eval.ExitCode);
        var json = JsonDocument.Parse(eval.Stdout).RootElement;
        Assert.Equal(6.0 / 8.0, json.GetProperty("nonbrain_iou").GetDouble(), 6); // TN 6 of TN 6 + FP 2
        Assert.Equal(2, json.GetProperty("ignored").GetInt32());
        Assert.Equal(0.0, json.GetProperty("tissue_loss").GetDouble(), 6);
        Assert.Contains("non-brain iou 0.7500", CliRunner.Invoke("eval", t["p.npy"], t["gt.npy"]).Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void TheJsonSummaryListsTheSectionsWhoseTextureDidNotSplit()
    {
        using var t = new TempFolder();
        // Sections of a tissue edge on resin, but section 2 is flat noise (nothing to split); 2D mode by the stack's depth.
        var edge = EmPhantom.Generate(new PhantomOptions { Seed = 3, Shape = new Shape3(4, 128, 128) }).Raw;
        var noise = new Random(2);
        foreach (ref byte v in edge.Span.Slice(2 * 128 * 128, 128 * 128))
        {
            v = (byte)noise.Next(90, 110);
        }

        VolumeWriter.Write(VolumePath.Parse(t["s.npy"], "/raw"), edge, new VolumeWriteOptions());
        var run = CliRunner.Invoke("mask", t["s.npy"], t["m.npy"], "--json");
        Assert.True(run.ExitCode == 0, run.Stderr);
        var unsplit = JsonDocument.Parse(run.Stdout).RootElement.GetProperty("UnsplitSections").EnumerateArray().Select(e => e.GetInt32()).ToList();
        Assert.Contains(2, unsplit);
        Assert.Equal(unsplit.Order(), unsplit);
    }

    [Fact]
    public void EvalNamesTheWorstSectionsFirstAndGivesEverySectionInJson()
    {
        using var t = new TempFolder();
        // Four sections of 1×10: non-brain (x < 4) then brain. The prediction is right but for section 2 (all brain:
        // non-brain IoU 0) and section 1 (one brain voxel lost: 5 of 6 kept).
        byte Truth(int i) => (byte)(i % 10 < 4 ? 0 : 1);
        NpyCraft.Write(t["gt.npy"], "|u1", [4, 1, 10], [.. Enumerable.Range(0, 40).Select(Truth)]);
        NpyCraft.Write(t["p.npy"], "|u1", [4, 1, 10], [.. Enumerable.Range(0, 40).Select(i => i / 10 == 2 ? (byte)1 : i == 19 ? (byte)0 : Truth(i))]);
        var text = CliRunner.Invoke("eval", t["p.npy"], t["gt.npy"]).Stdout;
        Assert.Contains("worst sections: z=2 non-brain iou 0.000, tissue lost 0.0 %; z=1 non-brain iou 0.800, tissue lost 16.7 %; z=0", text, StringComparison.Ordinal);
        var sections = JsonDocument.Parse(CliRunner.Invoke("eval", t["p.npy"], t["gt.npy"], "--json").Stdout).RootElement.GetProperty("sections");
        Assert.Equal(4, sections.GetArrayLength());
        Assert.Equal(0.0, sections[2].GetProperty("nonbrain_iou").GetDouble(), 6);
        Assert.Equal(1.0 / 6.0, sections[1].GetProperty("tissue_loss").GetDouble(), 6);
    }

    [Fact]
    public void EveryClassicalParameterHasACommandLineOption()
    {
        var help = CliRunner.Invoke("mask", "--help").Stdout;
        foreach (var e in EmMask.Core.Options.OptionsSchema.Describe(EmMask.Core.Masking.ClassicalMaskOptions.Default))
        {
            string flag = e.Kind == "bool" ? (e.Default!.GetValue<bool>() ? $"--no-{e.Cli}" : $"--{e.Cli}") : $"--{e.Cli}";
            Assert.Contains(flag, help, StringComparison.Ordinal);
        }
    }
}
