using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EmMask.Core.Volumes;
using EmMask.Learning.Models;
using EmMask.Learning.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace EmMask.Learning.Training;

/// <summary>
/// Trains a <see cref="MonaiUNet"/> on class-balanced, augmented random patches with DiceCE loss
/// and Adam, validating Dice on held-out volumes, keeping best + last checkpoints and a JSON log.
/// </summary>
/// <remarks>
/// <para>Files in <see cref="TrainingOptions.OutputDirectory"/>: <c>best.safetensors</c> (highest mean
/// validation Dice; = last without validation volumes), <c>last.safetensors</c>, <c>last.optimizer</c>
/// (Adam state), <c>last.state.json</c> (step, RNG state, best, log) and <c>training_log.json</c>.</para>
/// <para>Determinism: with the same seed, options and thread count a CPU run repeats exactly (weights
/// come from <c>torch.manual_seed</c>, patches and augmentation from our own serialisable RNG).
/// Multi-threaded CPU kernels are deterministic in practice for a fixed thread count, but a
/// different <see cref="TrainingOptions.Threads"/> or another libtorch build may change float
/// rounding; CUDA runs are not guaranteed to be deterministic.</para>
/// <para>Device: <see cref="TrainingOptions.Device"/> ("cpu", "cuda", "auto"); patches are drawn and augmented on the
/// CPU and moved to the device per step; checkpoints are written from CPU copies, so they load anywhere.</para>
/// <para>Resume restores weights, optimiser, RNG and step, so a resumed run continues the same
/// sequence of patches; it does not restore torch's global RNG (unused after initialisation,
/// since dropout is 0 by default).</para>
/// </remarks>
public static class UNetTrainer
{
    /// <summary>Trains as configured. Cancellation saves last.* (resumable) and then throws <see cref="OperationCanceledException"/>.</summary>
    /// <exception cref="ArgumentException">Invalid options (names the parameter).</exception>
    /// <exception cref="ModelLoadException">The initial/resume checkpoint cannot be used.</exception>
    public static TrainingResult Train(TrainingOptions options, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        // Resolved first, so that "cuda" on a machine without it fails before any file is written.
        var device = ModelStore.ResolveDevice(options.Device);
        Directory.CreateDirectory(options.OutputDirectory);
        if (options.Threads is int t) torch.set_num_threads(t);

        string bestPath = Path.Combine(options.OutputDirectory, "best.safetensors");
        string lastPath = Path.Combine(options.OutputDirectory, "last.safetensors");
        string optimPath = Path.Combine(options.OutputDirectory, "last.optimizer");
        string statePath = Path.Combine(options.OutputDirectory, "last.state.json");
        string logPath = Path.Combine(options.OutputDirectory, "training_log.json");
        bool resuming = options.Resume && File.Exists(statePath) && File.Exists(lastPath);

        torch.manual_seed(options.Seed);
        var rng = new TrainingRandom(options.Seed);
        MonaiUNet model;
        TrainingState state;
        if (resuming)
        {
            (model, _) = ModelStore.Load(lastPath, "cpu");
            state = TrainingState.Load(statePath);
            rng.State = state.Rng;
        }
        else
        {
            model = options.InitialCheckpoint is { } init ? ModelStore.Load(init, "cpu").Model : new MonaiUNet(options.Model);
            state = new TrainingState(0, rng.State, double.NaN, 0, 0, []);
        }

        using var _model = model;
        model.to(device);
        int div = model.Config.SizeDivisor;
        if (options.Patch.Z % div != 0 || options.Patch.Y % div != 0 || options.Patch.X % div != 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.Patch, $"Patch axes must be multiples of {div} for this network.");
        if (model.Config.InChannels != 1 || model.Config.OutChannels != 1)
            throw new ArgumentException("Training supports 1 input and 1 output channel.", nameof(options));

        model.train();
        using var optimizer = optim.Adam(model.parameters(), options.LearningRate);
        if (resuming && File.Exists(optimPath)) optimizer.load_state_dict(optimPath);

        var sampler = new PatchSampler(options.Volumes, options.CentreBalance, options.FocusWeight, options.ThinVolumesAsSections);
        var drawer = new PatchDrawer(sampler, options.Volumes, options.Augmentation, options.Patch);
        var patch = options.Patch;
        int n = (int)patch.Length, b = options.BatchSize;
        var img = new float[b * n];
        var lab = new float[b * n];
        var wgt = new float[b * n];
        long[] shape = [b, 1, patch.Z, patch.Y, patch.X];

        var clock = Stopwatch.StartNew();
        double previousElapsed = state.ElapsedSeconds;
        int step = state.Step, startStep = step;
        double lossSum = 0;
        int lossCount = 0;
        double bestDice = state.BestDice;
        int bestStep = state.BestStep;
        var log = state.Log;

        void Checkpoint(double? valDice, Dictionary<string, double>? perVolume)
        {
            // Without validation volumes "best" is simply the latest; a NaN best means the first validation wins.
            bool best = valDice is double d ? double.IsNaN(bestDice) || d > bestDice : options.ValidationVolumes.Count == 0;
            if (best)
            {
                bestDice = valDice ?? double.NaN;
                bestStep = step;
            }
            double sps = (step - startStep) / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
            var entry = new TrainingLogEntry(step, lossCount > 0 ? lossSum / lossCount : double.NaN, valDice, perVolume, sps,
                previousElapsed + clock.Elapsed.TotalSeconds, best);
            log.Add(entry);
            lossSum = 0;
            lossCount = 0;
            var meta = new Dictionary<string, string>
            {
                ["emmask.training.step"] = step.ToString(CultureInfo.InvariantCulture),
                ["emmask.training.seed"] = options.Seed.ToString(CultureInfo.InvariantCulture),
                ["emmask.training.val_dice"] = (valDice ?? double.NaN).ToString("R", CultureInfo.InvariantCulture),
            };
            ModelStore.Save(model, lastPath, meta);
            optimizer.save_state_dict(optimPath);
            new TrainingState(step, rng.State, bestDice, bestStep, previousElapsed + clock.Elapsed.TotalSeconds, log).Save(statePath);
            if (best) File.Copy(lastPath, bestPath, overwrite: true);
            File.WriteAllText(logPath, JsonSerializer.Serialize(log, TrainingState.Json));
        }

        while (step < options.Steps)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                Checkpoint(null, null);
                cancellationToken.ThrowIfCancellationRequested();
            }
            for (int i = 0; i < b; i++)
            {
                var si = img.AsSpan(i * n, n);
                var sl = lab.AsSpan(i * n, n);
                drawer.Draw(rng, si, sl, wgt.AsSpan(i * n, n));
            }

            double lossValue;
            using (NoCollectionDuring.Start())
            using (var scope = NewDisposeScope())
            {
                optimizer.zero_grad();
                var x = tensor(img, shape).to(device);
                var y = tensor(lab, shape).to(device);
                var w = tensor(wgt, shape).to(device);
                var loss = DiceCELoss.Compute(model.forward(x), y, w);
                loss.backward();
                optimizer.step();
                lossValue = loss.item<float>();
            }
            step++;
            lossSum += lossValue;
            lossCount++;

            double? valDice = null;
            if (step % options.ValidateEvery == 0 || step == options.Steps)
            {
                Dictionary<string, double>? perVolume = null;
                if (options.ValidationVolumes.Count > 0)
                {
                    perVolume = Validate(model, options.ValidationVolumes, options.ValidationCrop);
                    valDice = perVolume.Values.Average();
                    model.train();
                }
                Checkpoint(valDice, perVolume);
            }
            double stepsPerSecond = (step - startStep) / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
            progress?.Report(new TrainingProgress(step, options.Steps, lossValue, stepsPerSecond, valDice, bestDice, clock.Elapsed));
        }
        if (!File.Exists(lastPath)) Checkpoint(null, null); // resumed at/after the final step
        return new TrainingResult(step, bestDice, bestStep, bestPath, lastPath, logPath, clock.Elapsed);
    }

    /// <summary>Dice (threshold 0.5) per validation volume, each centre-cropped to <paramref name="crop"/> and zero-padded to the size divisor.</summary>
    public static Dictionary<string, double> Validate(MonaiUNet model, IReadOnlyList<TrainingVolume> volumes, Shape3 crop)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(volumes);
        model.eval();
        var result = new Dictionary<string, double>();
        for (int i = 0; i < volumes.Count; i++)
        {
            var v = volumes[i];
            var prob = PredictCentre(model, v.Image, crop, out var offset, out var size);
            long inter = 0, sumP = 0, sumG = 0;
            var lab = v.Labels.Span;
            int o = 0;
            for (int z = 0; z < size.Z; z++)
                for (int y = 0; y < size.Y; y++)
                    for (int x = 0; x < size.X; x++, o++)
                    {
                        bool p = prob[o] >= 0.5f;
                        bool g = lab[(int)v.Labels.Shape.Index(z + offset.Z, y + offset.Y, x + offset.X)] != 0;
                        if (p) sumP++;
                        if (g) sumG++;
                        if (p && g) inter++;
                    }
            double dice = sumP + sumG == 0 ? 1.0 : 2.0 * inter / (sumP + sumG);
            string name = string.IsNullOrEmpty(v.Name) ? $"val{i}" : v.Name;
            while (result.ContainsKey(name)) name += "'";
            result[name] = dice;
        }
        return result;
    }

    /// <summary>Sigmoid probabilities of the centre crop (≤ <paramref name="crop"/>) of a normalised <paramref name="image"/> in one pass (zero-padded to the size divisor); meant for validation-sized volumes, not whole datasets (use a sliding window there).</summary>
    public static float[] PredictCentre(MonaiUNet model, Volume<float> image, Shape3 crop, out Shape3 offset, out Shape3 size)
    {
        var s = image.Shape;
        size = new Shape3(Math.Min(s.Z, crop.Z), Math.Min(s.Y, crop.Y), Math.Min(s.X, crop.X));
        offset = new Shape3((s.Z - size.Z) / 2, (s.Y - size.Y) / 2, (s.X - size.X) / 2);
        int div = model.Config.SizeDivisor;
        var padded = new Shape3(RoundUp(size.Z, div), RoundUp(size.Y, div), RoundUp(size.X, div));
        var input = new float[padded.Length];
        var src = image.Span;
        for (int z = 0; z < size.Z; z++)
            for (int y = 0; y < size.Y; y++)
                src.Slice((int)s.Index(z + offset.Z, y + offset.Y, offset.X), size.X)
                    .CopyTo(input.AsSpan((int)padded.Index(z, y, 0), size.X));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x = tensor(input, [1, 1, padded.Z, padded.Y, padded.X]).to(model.parameters().First().device);
        var p = sigmoid(model.forward(x)).cpu()[0, 0, TensorIndex.Slice(0, size.Z), TensorIndex.Slice(0, size.Y), TensorIndex.Slice(0, size.X)].contiguous();
        return p.data<float>().ToArray();
    }

    private static int RoundUp(int v, int m) => (v + m - 1) / m * m;
}
