using System.Text.Json;
using EmMask.Core.Inference;
using EmMask.Core.Phantom;
using EmMask.Core.Volumes;
using EmMask.IO;

namespace EmMask.Cli.Tests;

/// <summary>emmask train and mask --method unet, end to end through the real CLI.</summary>
public class UNetCommandTests
{
    [Fact]
    public void TrainTwoStepsThenMaskWithTheCheckpoint()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "4", "--shape", "32", "64", "64", "-q").ExitCode);
        var train = CliRunner.Invoke("train", "--data", t["p.h5"], "--val", t["p.h5"], "--out", t["run"], "--steps", "2", "--patch", "16", "--batch", "1", "--validate-every", "2", "--threads", "1", "-q");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.True(File.Exists(Path.Combine(t["run"], "best.safetensors")));
        Assert.Contains("best validation dice", train.Stdout, StringComparison.Ordinal);

        var mask = CliRunner.Invoke("mask", t["p.h5"], t["m.h5"], "--method", "unet", "--model", Path.Combine(t["run"], "last.safetensors"), "--roi", "32", "--postprocess", "none");
        Assert.True(mask.ExitCode == 0, mask.Stderr);
        Assert.Contains("windows", mask.Stderr, StringComparison.Ordinal);
        var m = VolumeReader.Read(VolumePath.Parse(t["m.h5"], "/mask"));
        Assert.Equal(new Shape3(32, 64, 64), m.Shape);
        Assert.Equal("unet", VolumeReader.ReadAttributes(VolumePath.Parse(t["m.h5"], "/mask"))["method"]);
    }

    // One 256² section: dark resin, textured tissue in x < 110, and a smooth block brighter than the tissue (stained,
    // away from resin) beside it, which the classical mask leaves out.
    private static Volume<byte> StainedBlockSection()
    {
        var shape = new Shape3(1, 256, 256);
        var random = new Random(5);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var texture = new Volume<float>(shape);
        for (int i = 0; i < texture.Span.Length; i++)
        {
            texture.Span[i] = (float)Normal();
        }

        EmMask.Core.Filters.GaussianFilter.Apply(texture, texture, new EmMask.Core.Filters.Sigma3(0, 1, 1));
        float sd = MathF.Sqrt(texture.Span.ToArray().Select(v => v * v).Average());
        var image = new Volume<byte>(shape);
        for (int y = 0; y < 256; y++)
        {
            for (int x = 0; x < 256; x++)
            {
                double value = x < 110 ? 125 + (25 * texture[0, y, x] / sd)
                    : y is >= 40 and < 140 && x < 180 ? 150 + (3 * Normal())
                    : 55 + (3 * Normal());
                image[0, y, x] = (byte)Math.Clamp(Math.Round(value), 0, 255);
            }
        }

        return image;
    }

    [Fact]
    public void AStainedBlockBesideTheTissueIsTissueForTheUNetInMemoryAndBlockwise()
    {
        // The classical mask takes the block in (its per-section stained join), so the envelope holds it, and
        // builtin:identity calls bright voxels tissue. The envelope's own join (StainedAdmissionTests) then has nothing
        // left to add here. --no-stained-join turns off both joins: the block stays outside the envelope, non-brain.
        using var t = new TempFolder();
        VolumeWriter.Write(VolumePath.Parse(t["s.npy"], "/raw"), StainedBlockSection(), new VolumeWriteOptions());
        string[] common = ["--method", "unet", "--model", "builtin:identity", "--postprocess", "none", "-q"];
        Assert.Equal(0, CliRunner.Invoke(["mask", t["s.npy"], t["m.npy"], .. common]).ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["s.npy"], t["b.h5"], "--block", "64", .. common]).ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["s.npy"], t["off.npy"], "--no-stained-join", .. common]).ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["s.npy"], t["offb.h5"], "--no-stained-join", "--block", "64", .. common]).ExitCode);

        var memory = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["m.npy"], "/mask"));
        var blockwise = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["b.h5"], "/mask"));
        Assert.Equal(memory.Span.ToArray(), blockwise.Span.ToArray());
        int inBlock = 0;
        for (int y = 45; y < 135; y++)
        {
            for (int x = 120; x < 175; x++)
            {
                inBlock += memory[0, y, x];
            }
        }

        Assert.True(inBlock > 0.9 * 90 * 55, $"{inBlock} of the block's voxels are tissue");
        foreach (string off in new[] { t["off.npy"], t["offb.h5"] })
        {
            var without = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(off, "/mask"));
            Assert.Equal(0, without[0, 90, 150]);
            Assert.Equal(1, without[0, 90, 60]); // the textured tissue
        }
    }

    [Fact]
    public void TheClassicalStainedJoinGivesTheSameMaskBlockByBlock()
    {
        // Two sections (2D mode: a block is a run of whole sections); the block beside the tissue joins the mask.
        using var t = new TempFolder();
        var section = StainedBlockSection();
        var stack = new Volume<byte>(new Shape3(2, 256, 256), [.. section.Span, .. section.Span]);
        VolumeWriter.Write(VolumePath.Parse(t["s.npy"], "/raw"), stack, new VolumeWriteOptions());
        Assert.Equal(0, CliRunner.Invoke("mask", t["s.npy"], t["m.npy"], "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke("mask", t["s.npy"], t["b.h5"], "--block", "64", "-q").ExitCode);
        var memory = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["m.npy"], "/mask"));
        var blocks = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["b.h5"], "/mask"));
        Assert.Equal(memory.Span.ToArray(), blocks.Span.ToArray());
        Assert.Equal(1, memory[1, 90, 150]); // the stained block
        Assert.Equal(0, memory[1, 200, 220]); // resin
    }

    [Fact]
    public void TrainWithScaleCopiesAndFocus()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "4", "--shape", "32", "64", "64", "-q").ExitCode);
        var train = CliRunner.Invoke("train", "--data", t["p.h5"], "--out", t["run"], "--steps", "2", "--patch", "16", "--batch", "1",
            "--threads", "1", "--scale-copies", "2", "--focus", "/gt", "--focus-weight", "3");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.Contains("training on 2 volumes (each also at scale 2)", train.Stderr, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(t["run"], "best.safetensors")));

        var bad = CliRunner.Invoke("train", "--data", t["p.h5"], "--out", t["run2"], "--steps", "2", "--scale-copies", "0");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("--scale-copies", Assert.Single(bad.ErrorLines), StringComparison.Ordinal);
        Assert.False(Directory.Exists(t["run2"]));
    }

    [Fact]
    public void TrainDeviceAndAugmentationPresets()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "4", "--shape", "16", "48", "48", "-q").ExitCode);
        string[] common = ["--data", t["p.h5"], "--steps", "2", "--patch", "16", "--batch", "1", "--threads", "1", "-q"];
        var real = CliRunner.Invoke(["train", .. common, "--out", t["run"], "--augment", "real-em", "--device", "auto"]);
        Assert.True(real.ExitCode == 0, real.Stderr);
        Assert.True(File.Exists(Path.Combine(t["run"], "last.safetensors")));

        var preset = CliRunner.Invoke(["train", .. common, "--out", t["run2"], "--augment", "fancy"]);
        Assert.Equal(2, preset.ExitCode);
        Assert.Contains("--augment", Assert.Single(preset.ErrorLines), StringComparison.Ordinal);
        Assert.False(Directory.Exists(t["run2"]));

        // With the default (CPU) libtorch, or without a GPU, asking for CUDA is a one-line error before any data is
        // read; a CUDA build on a GPU machine trains.
        var cuda = CliRunner.Invoke(["train", .. common, "--out", t["run3"], "--device", "cuda"]);
        if (cuda.ExitCode != 0)
        {
            Assert.Equal(2, cuda.ExitCode);
            Assert.Contains("CUDA is not available", Assert.Single(cuda.ErrorLines), StringComparison.Ordinal);
            Assert.False(Directory.Exists(t["run3"]));
        }
    }

    [Fact]
    public void TrainWithFilesUnderTheDefaultAugmentation()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "4", "--shape", "16", "48", "48", "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke("phantom", t["q.h5"], "--seed", "5", "--shape", "16", "48", "48", "-q").ExitCode);
        string[] common = ["--steps", "2", "--patch", "16", "--batch", "1", "--threads", "1", "--augment", "real-em"];
        var both = CliRunner.Invoke(["train", "--data", t["p.h5"], "--default-augment-data", t["q.h5"], .. common, "--out", t["run"]]);
        Assert.True(both.ExitCode == 0, both.Stderr);
        Assert.Contains("training on 2 volumes", both.Stderr, StringComparison.Ordinal);
        var only = CliRunner.Invoke(["train", "--default-augment-data", t["q.h5"], .. common, "--out", t["run2"], "-q"]);
        Assert.True(only.ExitCode == 0, only.Stderr);

        var none = CliRunner.Invoke(["train", .. common, "--out", t["run3"]]);
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("--default-augment-data", Assert.Single(none.ErrorLines), StringComparison.Ordinal);
        Assert.False(Directory.Exists(t["run3"]));
    }

    [Fact]
    public void ThinStacksKeepTheirShapeAndRunSectionBySection()
    {
        using var t = new TempFolder();
        // Two sections at 16 nm: fewer than the network's smallest window, so each is predicted on its own.
        var p = EmPhantom.Generate(new PhantomOptions { Seed = 5, Shape = new Shape3(2, 64, 64), TissueFraction = 0.5 });
        VolumeWriter.Write(VolumePath.Parse(t["p.h5"], "/raw"), p.Raw, new VolumeWriteOptions());
        var run = CliRunner.Invoke("mask", t["p.h5"], t["m.h5"], "--method", "unet", "--no-envelope", "--tta", "1", "--postprocess", "none", "-q");
        Assert.True(run.ExitCode == 0, run.Stderr);
        var m = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["m.h5"], "/mask"));
        Assert.Equal(new Shape3(2, 64, 64), m.Shape);
        Assert.Contains((byte)1, m.Span.ToArray());
    }

    [Fact]
    public void MissingModelIsAOneLineErrorAndNoOutput()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--shape", "16", "32", "32", "-q").ExitCode);
        var run = CliRunner.Invoke("mask", t["p.h5"], t["m.h5"], "--method", "unet", "--model", t["nope.safetensors"]);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Single(run.ErrorLines, l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains("nope.safetensors", run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(t["m.h5"]));
    }

    [Fact]
    public void CorruptModelIsAModelError()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--shape", "16", "32", "32", "-q").ExitCode);
        File.WriteAllText(t["bad.safetensors"], "not a model");
        var run = CliRunner.Invoke("mask", t["p.h5"], t["m.h5"], "--method", "unet", "--model", t["bad.safetensors"]);
        Assert.Equal(5, run.ExitCode);
        Assert.False(File.Exists(t["m.h5"]));
    }

    [Fact]
    public void TestTimeFlipsAverageMirroredPredictions()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "2003", "--shape", "32", "64", "64", "-q").ExitCode);
        // Without the envelope: the flips, not the classical gate, are under test; with the phantom-trained model, whose
        // Dice on a phantom is high enough that a flip bug shows (the real-EM default alone: 0.82 here).
        string[] common = ["--method", "unet", "--model", "em-mask-unet-v1", "--roi", "32", "--no-envelope", "-q"];
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["plain.h5"], "--confidence", t["pp.h5"], "--tta", "1", .. common]).ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["tta.h5"], "--confidence", t["pt.h5"], "--tta", "4", .. common]).ExitCode);
        float[] Probability(string name) => ((Volume<float>)VolumeReader.Read(VolumePath.Parse(t[name], "/confidence"))).Span.ToArray();
        var plain = Probability("pp.h5");
        var tta = Probability("pt.h5");
        double meanChange = plain.Zip(tta, (a, b) => Math.Abs(a - b)).Average();
        Assert.InRange(meanChange, 1e-5, 0.05); // a different, nearby answer
        double Dice(string name) => JsonDocument.Parse(CliRunner.Invoke("eval", t[name], t["p.h5"], "--json").Stdout).RootElement.GetProperty("dice").GetDouble();
        double plainDice = Dice("plain.h5"), ttaDice = Dice("tta.h5");
        Assert.True(ttaDice > 0.85 && ttaDice > plainDice - 0.01, $"dice: plain {plainDice:F4}, tta 4 {ttaDice:F4}");

        // No --tta: the default is 4 flips, the same probabilities as --tta 4.
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["default.h5"], "--confidence", t["pd.h5"], .. common]).ExitCode);
        Assert.Equal(tta, Probability("pd.h5"));

        var bad = CliRunner.Invoke(["mask", t["p.h5"], t["bad.h5"], "--tta", "3", .. common]);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("flips", bad.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(t["bad.h5"]));
    }

    [Fact]
    public void AutoScaleFollowsTheVoxelSize()
    {
        using var t = new TempFolder();
        // An 8 nm phantom: auto runs at scale 2, exactly as --scale 2 does; --scale 1 overrides it.
        var p = EmPhantom.Generate(new PhantomOptions { Seed = 3, Shape = new Shape3(32, 64, 64), VoxelSize = new VoxelSize(8, 8, 8) });
        VolumeWriter.Write(VolumePath.Parse(t["p8.h5"], "/raw"), p.Raw, new VolumeWriteOptions());
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p16.h5"], "--seed", "3", "--shape", "32", "64", "64", "-q").ExitCode);
        string[] common = ["--method", "unet", "--roi", "32", "--tta", "1", "--postprocess", "none", "--json"];
        JsonElement Run(string input, string output, params string[] extra)
        {
            var run = CliRunner.Invoke(["mask", t[input], t[output], .. common, .. extra]);
            Assert.True(run.ExitCode == 0, run.Stderr);
            return JsonDocument.Parse(run.Stdout).RootElement;
        }

        string Notes(JsonElement e) => string.Join(" ", e.GetProperty("Notes").EnumerateArray().Select(n => n.GetString()));
        var auto = Run("p8.h5", "auto.h5");
        Assert.Contains("Working scale 2 (auto: voxel size 8×8×8 nm", Notes(auto), StringComparison.Ordinal);
        var stages = auto.GetProperty("Stages");
        foreach (string stage in new[] { "device_startup", "model_load", "envelope", "network", "postprocess" })
        {
            Assert.True(stages.GetProperty(stage).GetDouble() >= 0, stage);
        }

        Assert.True(stages.GetProperty("network").GetDouble() > 0);
        Assert.True(stages.GetProperty("network").GetDouble() <= auto.GetProperty("ComputeSeconds").GetDouble());
        Run("p8.h5", "two.h5", "--scale", "2");
        Assert.DoesNotContain("Working scale", Notes(Run("p8.h5", "one.h5", "--scale", "1")), StringComparison.Ordinal);
        byte[] Mask(string name) => ((Volume<byte>)VolumeReader.Read(VolumePath.Parse(t[name], "/mask"))).Span.ToArray();
        Assert.Equal(Mask("two.h5"), Mask("auto.h5"));
        Assert.NotEqual(Mask("one.h5"), Mask("auto.h5"));
        Assert.DoesNotContain("Working scale", Notes(Run("p16.h5", "sixteen.h5")), StringComparison.Ordinal); // 16 nm: scale 1

        foreach (string bad in new[] { "0", "two", "1.5" })
        {
            var run = CliRunner.Invoke("mask", t["p8.h5"], t["bad.h5"], "--method", "unet", "--scale", bad, "-q");
            Assert.Equal(2, run.ExitCode);
            Assert.Contains("scale", run.Stderr, StringComparison.Ordinal);
            Assert.False(File.Exists(t["bad.h5"]));
        }

        File.WriteAllText(t["auto.json"], "{\"method\": \"unet\", \"scale\": \"auto\", \"roi\": 32, \"tta\": 1}");
        Assert.Equal(0, CliRunner.Invoke("mask", t["p8.h5"], t["preset.h5"], "--preset", t["auto.json"], "--postprocess", "none", "-q").ExitCode);
        Assert.Equal(Mask("two.h5"), Mask("preset.h5"));
    }

    [Fact]
    public void PresetFilesCarryUNetSettingsAndTheCommandLineOverridesThem()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "2001", "--shape", "16", "32", "32", "-q").ExitCode);
        File.WriteAllText(t["unet.json"], "{\"method\": \"unet\", \"roi\": 32, \"tta\": 4, \"envelope\": false, \"skip_tiles\": false, \"postprocess\": \"none\"}");
        Assert.Equal(0, CliRunner.Invoke("mask", t["p.h5"], t["a.h5"], "--preset", t["unet.json"], "-q").ExitCode);
        var a = VolumeReader.ReadAttributes(VolumePath.Parse(t["a.h5"], "/mask"));
        Assert.Equal("unet", a["method"]);
        var settings = JsonDocument.Parse(a["parameters"]).RootElement;
        Assert.Equal(32, settings.GetProperty("roi").GetInt32());
        Assert.Equal(4, settings.GetProperty("tta").GetInt32());
        Assert.False(settings.GetProperty("envelope").GetBoolean());
        Assert.False(settings.GetProperty("skip_tiles").GetBoolean());

        Assert.Equal(0, CliRunner.Invoke("mask", t["p.h5"], t["b.h5"], "--preset", t["unet.json"], "--tta", "1", "--envelope-margin", "2", "-q").ExitCode);
        settings = JsonDocument.Parse(VolumeReader.ReadAttributes(VolumePath.Parse(t["b.h5"], "/mask"))["parameters"]).RootElement;
        Assert.Equal(1, settings.GetProperty("tta").GetInt32());
        Assert.Equal(2.0, settings.GetProperty("envelope_margin").GetDouble());
        Assert.Equal(32, settings.GetProperty("roi").GetInt32());

        Assert.Equal(0, CliRunner.Invoke("mask", t["p.h5"], t["c.h5"], "--preset", t["unet.json"], "--method", "classical", "-q").ExitCode);
        Assert.Equal("classical", VolumeReader.ReadAttributes(VolumePath.Parse(t["c.h5"], "/mask"))["method"]);

        File.WriteAllText(t["bad.json"], "{\"roi\": [32, 32, 32]}");
        var bad = CliRunner.Invoke("mask", t["p.h5"], t["d.h5"], "--preset", t["bad.json"]);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("roi", bad.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ShippedModelIsFoundByDefault()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "2001", "--shape", "32", "64", "64", "-q").ExitCode);
        var run = CliRunner.Invoke("mask", t["p.h5"], t["m.h5"], "--method", "unet", "--roi", "32", "-q");
        Assert.True(run.ExitCode == 0, run.Stderr);
        var eval = CliRunner.Invoke("eval", t["m.h5"], t["p.h5"]);
        Assert.Contains("dice", eval.Stdout, StringComparison.Ordinal);

        // No post-processing by default for the U-Net: "clean" would fill the tracheae it separates.
        var attributes = VolumeReader.ReadAttributes(VolumePath.Parse(t["m.h5"], "/mask"));
        Assert.Equal("none", attributes["postprocess"]);
    }

    [Fact]
    public void EnvelopeGatesFarResinAndSkippingCannotChangeTheGatedMask()
    {
        using var t = new TempFolder();
        // 20% tissue in a wide volume: windows of pure resin, where an instance-normalised network can fire.
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "2005", "--tissue-fraction", "0.2", "--shape", "32", "128", "128", "-q").ExitCode);
        string[] common = ["--method", "unet", "--roi", "32", "--postprocess", "none", "-q"];
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["gated.h5"], "--no-skip", .. common]).ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["skipped.h5"], .. common]).ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["raw.h5"], "--no-skip", "--no-envelope", .. common]).ExitCode);

        var gated = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["gated.h5"], "/mask"));
        var skipped = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["skipped.h5"], "/mask"));
        var raw = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["raw.h5"], "/mask"));
        Assert.Equal(gated.Span.ToArray(), skipped.Span.ToArray());

        // Gated tissue lies inside the envelope of the classical mask (its sections whose resin is known grown by half
        // the margin); the ungated network is the same inside it.
        var envelope = EmMask.Core.Masking.TissueEnvelope.Compute(VolumeReader.Read(VolumePath.Parse(t["p.h5"], "/raw")));
        for (int i = 0; i < gated.Span.Length; i++)
        {
            Assert.True(envelope.Span[i] == 1 || gated.Span[i] == 0, $"voxel {i}: tissue outside the envelope");
            if (envelope.Span[i] == 1)
            {
                Assert.Equal(raw.Span[i], gated.Span[i]);
            }
        }
    }
    [Fact]
    public void ClassicalCoreIsTissueWhateverTheNetworkSaysInMemoryAndBlockwise()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "2006", "--shape", "32", "96", "96", "--tracheae", "-q").ExitCode);
        string[] common = ["--method", "unet", "--roi", "32", "--tta", "1", "--postprocess", "none", "-q"];
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["plain.h5"], .. common]).ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["core.h5"], "--core", "--core-depth", "0", .. common]).ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["block.h5"], "--core", "--core-depth", "0", "--block", "48", .. common]).ExitCode);
        Assert.Equal(0, CliRunner.Invoke("mask", t["p.h5"], t["classical.h5"], "--postprocess", "none", "-q").ExitCode);
        var plain = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["plain.h5"], "/mask"));
        var core = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["core.h5"], "/mask"));
        var block = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["block.h5"], "/mask"));
        var classical = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["classical.h5"], "/mask"));

        // Depth 0: the core is the classical mask itself, so the result is the gated network's mask united with it.
        long raised = 0;
        for (int i = 0; i < core.Span.Length; i++)
        {
            Assert.Equal((byte)(plain.Span[i] | classical.Span[i]), core.Span[i]);
            raised += classical.Span[i] == 1 && plain.Span[i] == 0 ? 1 : 0;
        }

        Assert.True(raised > 0, "the network called none of the classical tissue non-brain: nothing under test");
        Assert.Equal(core.Span.ToArray(), block.Span.ToArray());

        // A floor of 0.5 raises nothing (only probabilities under 0.5 are raised): the plain mask again; the option
        // reaches the worker.
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["floor.h5"], "--core", "--core-depth", "0", "--core-floor", "0.5", .. common]).ExitCode);
        var floor = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["floor.h5"], "/mask"));
        Assert.Equal(plain.Span.ToArray(), floor.Span.ToArray());
    }
    [Fact]
    public void HysteresisKeepsOnlyAnchoredNonBrainInMemoryAndBlockwise()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "2006", "--shape", "32", "96", "96", "--tracheae", "-q").ExitCode);
        string[] common = ["--method", "unet", "--roi", "32", "--tta", "1", "--scale", "1", "--postprocess", "none", "-q"];
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["plain.h5"], "--hysteresis", "0", "--confidence", t["p.npy"], .. common]).ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["h.h5"], "--hysteresis", "0.3", "--anchor-confirm", "0", .. common]).ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["block.h5"], "--hysteresis", "0.3", "--anchor-confirm", "0", "--block", "48", .. common]).ExitCode);
        var plain = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["plain.h5"], "/mask"));
        var probability = (Volume<float>)VolumeReader.Read(VolumePath.Parse(t["p.npy"], "/raw"));
        var h = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["h.h5"], "/mask"));
        var block = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["block.h5"], "/mask"));

        // The option reaches the worker: the mask is the plain run's probabilities resolved by hysteresis.
        var resolved = probability.Clone();
        NonBrainHysteresis.Apply(resolved, new(0.3));
        var expected = ProbabilityMask.From(resolved);
        Assert.Equal(expected.Span.ToArray(), h.Span.ToArray());
        Assert.NotEqual(plain.Span.ToArray(), h.Span.ToArray()); // some region of doubt became tissue: something under test
        Assert.Equal(h.Span.ToArray(), block.Span.ToArray());
    }

    [Fact]
    public void AnchorsAreConfirmedByThePassAtTwiceTheScaleInMemoryAndBlockwise()
    {
        using var t = new TempFolder();
        Assert.Equal(0, CliRunner.Invoke("phantom", t["p.h5"], "--seed", "2006", "--shape", "32", "96", "96", "--tracheae", "-q").ExitCode);
        string[] common = ["--method", "unet", "--roi", "32", "--tta", "1", "--postprocess", "none", "-q"];
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["plain.h5"], "--hysteresis", "0", "--scale", "1", "--confidence", t["p.npy"], .. common]).ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["wide.h5"], "--hysteresis", "0", "--scale", "2", "--confidence", t["w.npy"], .. common]).ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["c.h5"], "--hysteresis", "0.3", "--anchor-confirm", "0.05", "--scale", "1", .. common]).ExitCode);
        Assert.Equal(0, CliRunner.Invoke(["mask", t["p.h5"], t["block.h5"], "--hysteresis", "0.3", "--anchor-confirm", "0.05", "--scale", "1", "--block", "48", .. common]).ExitCode);
        var probability = (Volume<float>)VolumeReader.Read(VolumePath.Parse(t["p.npy"], "/raw"));
        var wide = (Volume<float>)VolumeReader.Read(VolumePath.Parse(t["w.npy"], "/raw"));
        var confirmed = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["c.h5"], "/mask"));
        var block = (Volume<byte>)VolumeReader.Read(VolumePath.Parse(t["block.h5"], "/mask"));

        // The second pass is the run at twice the scale; an anchor counts only where it is under 0.05 there.
        var resolved = probability.Clone();
        NonBrainHysteresis.Apply(resolved, new(0.3, wide, 0.05));
        Assert.Equal(ProbabilityMask.From(resolved).Span.ToArray(), confirmed.Span.ToArray());
        var unconfirmed = probability.Clone();
        NonBrainHysteresis.Apply(unconfirmed, new(0.3));
        Assert.NotEqual(ProbabilityMask.From(unconfirmed).Span.ToArray(), confirmed.Span.ToArray()); // the wider view changed something
        Assert.Equal(confirmed.Span.ToArray(), block.Span.ToArray());
    }
}
