// Recipe for models/em-mask-unet-v1: generates EmPhantom volumes, trains with UNetTrainer, evaluates Dice and trachea recall.
// The trachea/envelope layers are internal to EmMask.Core, so they are read by reflection (evaluation only).
using System.Diagnostics;
using EmMask.Core.Masking;
using EmMask.Core.Phantom;
using EmMask.Core.Volumes;
using EmMask.Learning.Models;
using EmMask.Learning.Training;
using TorchSharp;

string mode = args[0];
var a = args.Skip(1).Select(s => s.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
string Get(string k, string d) => a.TryGetValue(k, out var v) ? v : d;
var shape = new Shape3(int.Parse(Get("z", "64")), int.Parse(Get("y", "128")), int.Parse(Get("x", "128")));
int threads = int.Parse(Get("threads", "2"));
torch.set_num_threads(threads);


// Large, resin-dominated volumes ("big=K"): windows of pure resin, which 64x128x128 volumes rarely give and which
// instance-normalised networks otherwise mistake for texture (false positives far from tissue).
var bigShape = new Shape3(int.Parse(Get("bigz", "64")), int.Parse(Get("bigy", "224")), int.Parse(Get("bigx", "224")));

(PhantomVolume P, byte[] Tube, byte[] Env) Phantom(int seed, bool invert, bool artefacts, double? tf, Shape3? size = null)
{
    var o = new PhantomOptions { Seed = seed, Shape = size ?? shape, Invert = invert, Artefacts = artefacts, TissueFraction = tf };
    var (p, layers) = EmPhantom.GenerateWithLayers(o, CancellationToken.None, threads);
    return (p, layers.Tube, layers.Envelope);
}

// Focus centres: trachea lumen and wall inside the tissue envelope (the non-brain the classical mask cannot see).
Volume<byte> Focus(PhantomVolume p, byte[] tube, byte[] env)
{
    var f = p.Truth.Like<byte>();
    var fs = f.Span;
    for (int i = 0; i < fs.Length; i++) fs[i] = (byte)(tube[i] != 0 && env[i] != 0 ? 1 : 0);
    return f;
}

int nVal = int.Parse(Get("val", "4"));
int valSeed = int.Parse(Get("valseed", "1001"));
var valSpecs = Enumerable.Range(0, nVal).Select(i => (Seed: valSeed + i, Invert: i % 2 == 1, Art: i < 2 || i % 3 != 2)).ToList();

if (mode == "train")
{
    int nTrain = int.Parse(Get("train", "12"));
    int firstSeed = int.Parse(Get("firstseed", "1"));
    var sw = Stopwatch.StartNew();
    var train = new List<TrainingVolume>();
    for (int i = 0; i < nTrain; i++)
    {
        int seed = firstSeed + i;
        bool invert = i % 2 == 1;
        bool art = i % 4 != 3; // a quarter without artefacts
        var (p, tube, env) = Phantom(seed, invert, art, null);
        train.Add(TrainingVolume.FromRaw(p.Raw, p.Truth, null, $"seed{seed}{(invert ? "-inv" : "")}") with { Focus = Focus(p, tube, env) });
        Console.WriteLine($"phantom {seed} invert={invert} art={art} tissue={p.Truth.Span.ToArray().Average(b => (double)b):F2} ({sw.Elapsed.TotalSeconds:F0}s)");
    }
    int nBig = int.Parse(Get("big", "0"));
    for (int i = 0; i < nBig; i++)
    {
        int seed = int.Parse(Get("firstbig", "301")) + i;
        bool invert = i % 2 == 1;
        double tf = 0.1 + 0.2 * ((i * 7) % 5) / 4.0; // 0.10 .. 0.30
        var (p, tube, env) = Phantom(seed, invert, i % 4 != 3, tf, bigShape);
        train.Add(TrainingVolume.FromRaw(p.Raw, p.Truth, null, $"big{seed}{(invert ? "-inv" : "")}") with { Focus = Focus(p, tube, env) });
        Console.WriteLine($"big phantom {seed} {bigShape} invert={invert} tissue={p.Truth.Span.ToArray().Average(b => (double)b):F2} ({sw.Elapsed.TotalSeconds:F0}s)");
    }
    // Working-scale copies ("coarse=K"): phantoms at twice the shape, normalised at full resolution and averaged over
    // 2x2x2 blocks, as `--scale 2` feeds the network; tissue fractions alternate between resin-dominated and default.
    // Small copies ("smallcoarse=K"): phantoms of the base shape averaged to half of it, so that the network also sees
    // tracheae as narrow as a small volume's at --scale 2 (the phantom scales tracheae with size).
    void AddCoarseCopies(string kind, int count, int firstSeed, Shape3 size)
    {
        for (int i = 0; i < count; i++)
        {
            int seed = firstSeed + i;
            bool invert = i % 2 == 1;
            double? tf = i % 3 == 0 ? 0.12 + 0.06 * (i % 4) : null;
            var (p, tube, env) = Phantom(seed, invert, i % 4 != 3, tf, size);
            train.Add((TrainingVolume.FromRaw(p.Raw, p.Truth, null, $"{kind}{seed}{(invert ? "-inv" : "")}") with { Focus = Focus(p, tube, env) }).Downsampled(2));
            Console.WriteLine($"{kind} phantom {seed} {size}/2 invert={invert} tissue={p.Truth.Span.ToArray().Average(b => (double)b):F2} ({sw.Elapsed.TotalSeconds:F0}s)");
        }
    }

    var coarseShape = new Shape3(shape.Z * 2, shape.Y * 2, shape.X * 2);
    AddCoarseCopies("coarse", int.Parse(Get("coarse", "0")), int.Parse(Get("firstcoarse", "501")), coarseShape);
    AddCoarseCopies("smallcoarse", int.Parse(Get("smallcoarse", "0")), int.Parse(Get("firstsmallcoarse", "601")), shape);
    var val = valSpecs.Select(s => { var (p, _, _) = Phantom(s.Seed, s.Invert, s.Art, null); return TrainingVolume.FromRaw(p.Raw, p.Truth, null, $"val{s.Seed}{(s.Invert ? "-inv" : "")}"); }).ToList();
    if (Get("bigval", "0") == "1")
    {
        // A resin-dominated validation volume; validation crops its centre (64x128x128), mostly resin.
        var (p, _, _) = Phantom(1901, false, true, 0.12, bigShape);
        val.Add(TrainingVolume.FromRaw(p.Raw, p.Truth, null, "val1901-big"));
    }
    int nCoarseVal = int.Parse(Get("coarseval", "0"));
    for (int i = 0; i < nCoarseVal; i++)
    {
        var (p, _, _) = Phantom(1101 + i, i % 2 == 1, true, null, coarseShape);
        val.Add(TrainingVolume.FromRaw(p.Raw, p.Truth, null, $"val{1101 + i}-coarse").Downsampled(2));
    }
    int nSmallCoarseVal = int.Parse(Get("smallcoarseval", "0"));
    for (int i = 0; i < nSmallCoarseVal; i++)
    {
        var (p, _, _) = Phantom(1201 + i, i % 2 == 1, true, null);
        val.Add(TrainingVolume.FromRaw(p.Raw, p.Truth, null, $"val{1201 + i}-smallcoarse").Downsampled(2));
    }
    Console.WriteLine($"data ready {sw.Elapsed.TotalSeconds:F0}s");
    int c0 = int.Parse(Get("c0", "16"));
    int ps = int.Parse(Get("patch", "48"));
    var opts = new TrainingOptions
    {
        Volumes = train,
        ValidationVolumes = val,
        OutputDirectory = Get("out", "/tmp/unet-train"),
        Model = UNetConfig.Default with { Channels = [c0, c0 * 2, c0 * 4, c0 * 8, c0 * 16] },
        Patch = new Shape3(ps, ps, ps),
        BatchSize = int.Parse(Get("batch", "2")),
        Steps = int.Parse(Get("steps", "600")),
        LearningRate = double.Parse(Get("lr", "5e-4")),
        Seed = long.Parse(Get("seed", "1")),
        ValidateEvery = int.Parse(Get("every", "50")),
        ValidationCrop = new Shape3(64, 128, 128),
        CentreBalance = (1, double.Parse(Get("wresin", "1")), 1, double.Parse(Get("wnear", "1"))),
        FocusWeight = double.Parse(Get("wfocus", "0")),
        Threads = threads,
        // zoom=LO,HI pzoom=P: zoom augmentation (PatchZoom), off unless given.
        Augmentation = AugmentationOptions.Default with
        {
            ZoomProbability = double.Parse(Get("pzoom", "0")),
            Zoom = Get("zoom", "1,1").Split(',') is [var lo, var hi] ? (double.Parse(lo), double.Parse(hi)) : throw new ArgumentException("zoom=LO,HI"),
        },
        Resume = Get("resume", "0") == "1",
        InitialCheckpoint = a.TryGetValue("init", out var init) ? init : null,
    };
    var res = UNetTrainer.Train(opts, new Sync(p =>
        Console.WriteLine($"step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} {1 / p.StepsPerSecond:F2}s/step{(p.ValidationDice is double d ? $" VAL {d:F4} best {p.BestValidationDice:F4}" : "")} t={p.Elapsed.TotalMinutes:F1}m")));
    Console.WriteLine($"done best {res.BestValidationDice:F4} @ {res.BestStep} in {res.Elapsed}");
}
else if (mode == "eval")
{
    var (model, cfg) = ModelStore.Load(Get("model", "/tmp/unet-train/best.safetensors"), "cpu");
    double? gate = a.TryGetValue("envelope", out var e) ? double.Parse(e) : null; // envelope=4: gate as the CLI does
    double tubeIn = 0, tubeHit = 0, diceSum = 0;
    foreach (var s in valSpecs)
    {
        var (p, tube, env) = Phantom(s.Seed, s.Invert, s.Art, null);
        var tv = TrainingVolume.FromRaw(p.Raw, p.Truth);
        var prob = UNetTrainer.PredictCentre(model, tv.Image, shape, out _, out _);
        if (gate is double margin)
        {
            // As the CLI and the napari plugin run it: the network decides inside the tissue envelope only.
            var envelope = TissueEnvelope.Compute(p.Raw, margin).Span;
            for (int i = 0; i < prob.Length; i++)
            {
                if (envelope[i] == 0) prob[i] = 0;
            }
        }

        long inter = 0, sp = 0, sg = 0, tin = 0, thit = 0, lin = 0, lhit = 0;
        var t = p.Truth.Span;
        for (int i = 0; i < prob.Length; i++)
        {
            bool pr = prob[i] >= 0.5f, g = t[i] != 0;
            if (pr) sp++; if (g) sg++; if (pr && g) inter++;
            if (tube[i] != 0 && env[i] != 0) { tin++; if (!pr) thit++; if (tube[i] == 1) { lin++; if (!pr) lhit++; } }
        }
        double dice = 2.0 * inter / (sp + sg);
        Console.WriteLine($"val seed {s.Seed} invert={s.Invert} art={s.Art}: dice {dice:F4}, trachea-in-envelope voxels {tin}, recall {(tin > 0 ? (double)thit / tin : double.NaN):F4} (lumen {lin} voxels, recall {(lin > 0 ? (double)lhit / lin : double.NaN):F4})");
        tubeIn += tin; tubeHit += thit; diceSum += dice;
    }
    Console.WriteLine($"overall trachea recall {tubeHit / tubeIn:F4}, mean dice {diceSum / valSpecs.Count:F4}");
}
else if (mode == "gen")
{
    var sw = Stopwatch.StartNew();
    var (p, tube, env) = Phantom(1, false, true, null);
    Console.WriteLine($"gen {sw.Elapsed.TotalSeconds:F1}s tube-in-env {tube.Zip(env).Count(q => q.First != 0 && q.Second != 0)}");
}

sealed class Sync(Action<TrainingProgress> f) : IProgress<TrainingProgress> { public void Report(TrainingProgress v) => f(v); }
