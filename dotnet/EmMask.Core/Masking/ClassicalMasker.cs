using System.Numerics.Tensors;
using EmMask.Core.Filters;
using EmMask.Core.Inference;
using EmMask.Core.Labeling;
using EmMask.Core.Morphology;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// The classical brain/non-brain masker: texture measured against the volume's own noise, at the pyramid level where the
/// tissue's texture is clear, with exact-constant padding and stained flat material handled apart, and the boundary put
/// back on the image's edges at full resolution.
/// </summary>
/// <remarks>
/// Steps (the README's "How the classical masker works" says the same):
/// <list type="number">
/// <item>Robust normalisation (1st/99th percentile → 0/1). Exact-constant padding (<see cref="PaddingDetector"/>) and NaN
/// voxels are non-brain and leave every statistic below.</item>
/// <item>Mode (<see cref="MaskingModes.Resolve"/>): thin or anisotropic stacks are masked section by section.</item>
/// <item>Noise: the noise level function is flattened (<see cref="VarianceStabilizer"/>), then the noise's level and
/// correlation are estimated (<see cref="NoiseModel"/>).</item>
/// <item>Texture-to-noise ratio r = √(λ_min/λ_noise) of the structure tensor of a Difference of Gaussians and a smoothed
/// image, at pyramid levels 0..3; the working level is the finest where the tissue's texture is clear
/// (<see cref="TexturePyramid"/>).</item>
/// <item>Threshold t on log r: given, or the histogram valley between Otsu's classes when the histogram is clearly bimodal
/// (η ≥ 0.7), never below 2 (twice the noise); 2 otherwise.</item>
/// <item>Soft vote v = sigmoid((log r − log t)/0.25), raised for stained flat material (<see cref="StainRule"/>).</item>
/// <item>Confidence: the vote averaged over a block (valid voxels only), brought back to full resolution. Mask =
/// confidence ≥ 0.5, holes filled.</item>
/// <item>Boundary refinement at full resolution (<see cref="BoundaryRefinement"/>), holes filled, small regions removed.</item>
/// </list>
/// A constant volume has no texture: the result is an all-0 mask with a warning. NaN/Inf voxels are set to 0 in the mask.
/// </remarks>
public static class ClassicalMasker
{
    /// <summary>Width of the soft vote in log units of the texture-to-noise ratio.</summary>
    public const float Softness = 0.25f;

    /// <summary>The threshold used when the ratio's histogram is not clearly bimodal, and the floor of the automatic one.</summary>
    public const double UnimodalThreshold = 2.0;

    /// <summary>Otsu separability from which the histogram counts as bimodal.</summary>
    public const double UnimodalSeparability = 0.7;

    /// <summary>Largest number of voxels the automatic threshold's histogram is built from.</summary>
    public const int ThresholdSampleLimit = 1 << 20;

    /// <summary>
    /// The stride of a regular sample of at most about <paramref name="limit"/> of <paramref name="length"/> values:
    /// ⌈length / limit⌉, raised until coprime with <paramref name="rowLength"/> (the x axis), so that the sample visits
    /// every x instead of a few columns (a stride equal to the row length would sample a single yz plane).
    /// </summary>
    internal static int SampleStride(long length, int limit, int rowLength)
    {
        int step = (int)Math.Max(1, (length + limit - 1) / limit);
        while (step > 1 && System.Numerics.BigInteger.GreatestCommonDivisor(step, rowLength) != 1)
        {
            step++;
        }

        return step;
    }

    /// <summary>A regular sample (<see cref="SampleStride"/>, limit 2²⁰) of the values where <paramref name="valid"/> is set.</summary>
    internal static float[] ThresholdSample(ReadOnlySpan<float> values, ReadOnlySpan<byte> valid, int rowLength)
    {
        int step = SampleStride(values.Length, ThresholdSampleLimit, rowLength);
        var sample = new List<float>((values.Length / step) + 1);
        for (int i = 0; i < values.Length; i += step)
        {
            if (valid.IsEmpty || valid[i] != 0)
            {
                sample.Add(values[i]);
            }
        }

        return [.. sample];
    }

    /// <summary>Computes the mask and confidence of a uint8, uint16 or float32 volume.</summary>
    /// <exception cref="InvalidVolumeException">Empty axis or no finite value.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An invalid option (named).</exception>
    public static MaskResult Run(
        IVolume input,
        ClassicalMaskOptions? options = null,
        IProgress<ProgressReport>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        options = (options ?? ClassicalMaskOptions.Default).Validate();
        var ct = cancellationToken;
        var warnings = new List<string>();
        var notes = new List<string>();
        progress?.Report(new("normalise", 0.0));
        var normal = IntensityNormalizer.Normalize(input, ct);
        var n = normal.Normalized;
        var shape = input.Shape;
        if (normal.IsConstant)
        {
            warnings.Add($"The volume is constant (value {normal.Low:g}); it has no texture, so the mask is all 0 (non-brain).");
            progress?.Report(new("done", 1.0));
            n.Span.Clear();
            return new MaskResult(n.Like<byte>(), n, options.Threshold ?? UnimodalThreshold, warnings, notes);
        }

        var valid = InvalidVoxels(input, n, normal.NonFinite, warnings, ct);
        var mask = n.Like<byte>();
        var confidence = n.Like<float>();
        mask.VoxelSize = confidence.VoxelSize = input.VoxelSize;
        if (valid is not null && valid.Span.IndexOfAnyExcept((byte)0) < 0)
        {
            warnings.Add("Every voxel is padding or NaN: the mask is all 0 (non-brain).");
            progress?.Report(new("done", 1.0));
            return new MaskResult(mask, confidence, options.Threshold ?? UnimodalThreshold, warnings, notes);
        }

        var mode = MaskingModes.Resolve(options.Mode, shape, input.VoxelSize);
        var outcomes = new List<VolumeOutcome>();
        if (mode == MaskingMode.TwoD && shape.Z > 1)
        {
            int plane = shape.SliceLength;
            var section = new Shape3(1, shape.Y, shape.X);
            for (int z = 0; z < shape.Z; z++)
            {
                ct.ThrowIfCancellationRequested();
                var image = new Volume<float>(section, n.Memory.Slice(z * plane, plane).ToArray(), input.VoxelSize);
                var ok = valid is null ? null : new Volume<byte>(section, valid.Memory.Slice(z * plane, plane).ToArray());
                if (ok is not null && ok.Span.IndexOfAnyExcept((byte)0) < 0)
                {
                    continue; // a section of padding only: all non-brain
                }

                var sectionMask = new Volume<byte>(section);
                var sectionConfidence = new Volume<float>(section);
                var scaled = progress is null ? null : new SectionProgress(progress, z, shape.Z);
                outcomes.Add(RunVolume(image, ok, options, sectionMask, sectionConfidence, scaled, ct));
                sectionMask.Span.CopyTo(mask.Span.Slice(z * plane, plane));
                sectionConfidence.Span.CopyTo(confidence.Span.Slice(z * plane, plane));
            }
        }
        else
        {
            outcomes.Add(RunVolume(n, valid, options, mask, confidence, progress, ct));
        }

        double threshold = outcomes.Count == 0 ? options.Threshold ?? UnimodalThreshold : Median(outcomes.Select(o => o.Threshold));
        notes.Add(Describe(mode, shape, outcomes));
        if (mode == MaskingMode.TwoD && shape.Z > 1)
        {
            notes.Add($"mode 2d: {shape.Z} sections masked one by one (set mode 3d to mask as a volume)");
        }

        mask.VoxelSize = input.VoxelSize;
        confidence.VoxelSize = input.VoxelSize;
        progress?.Report(new("done", 1.0));
        return new MaskResult(mask, confidence, threshold, warnings, notes);
    }

    /// <summary>What one volume (or section) run decided.</summary>
    private readonly record struct VolumeOutcome(double Threshold, int Level, NoiseModel Noise, bool Stabilised);

    /// <summary>Masks one volume (3D) or one section (Z = 1) in place of <paramref name="mask"/> and <paramref name="confidence"/>; <paramref name="n"/> is consumed.</summary>
    private static VolumeOutcome RunVolume(Volume<float> n, Volume<byte>? valid, ClassicalMaskOptions options, Volume<byte> mask, Volume<float> confidence, IProgress<ProgressReport>? progress, CancellationToken ct)
    {
        var shape = n.Shape;
        bool planar = shape.Z == 1;
        var ok = (valid is null ? default : valid.Span);
        if (valid is not null)
        {
            FillInvalid(n, valid);
        }

        progress?.Report(new("noise", 0.05));
        var patches = PatchStatistics.Measure(n, valid);
        bool stabilised = VarianceStabilizer.Apply(n, patches, ct);
        if (stabilised)
        {
            patches = PatchStatistics.Measure(n, valid);
        }

        var noise = NoiseModel.Estimate(n, valid, patches);
        ct.ThrowIfCancellationRequested();

        // Texture at the working level (TexturePyramid): the finest level where resin and tissue separate clearly, else the
        // finest where the tissue's texture is clear, or the level asked for.
        int highest = TexturePyramid.HighestLevel(shape, planar);
        int first = options.Level is { } asked ? Math.Min(asked, highest) : 0;
        int last = options.Level is not null ? first : highest;
        LevelMaps? chosen = null, textured = null;
        for (int l = first; l <= last; l++)
        {
            progress?.Report(new($"texture (level {l})", 0.1 + (0.5 * (l - first + 1) / (last - first + 1))));
            var maps = LevelMaps.Compute(n, valid, l, noise, planar, options, ct);
            if (options.Level is not null || (maps.Separates && (chosen is null || maps.Separability > chosen.Separability)))
            {
                chosen = maps; // the clearest separation wins; on a tie the finer level
            }

            if (textured is null && (maps.Textured || l == last))
            {
                textured = maps;
            }
        }

        chosen ??= textured!;
        int level = chosen.Level;
        var logRatio = chosen.LogRatio;
        var smoothed = chosen.Smoothed;
        var okLevel = chosen.Valid;
        var validLevel = chosen.ValidFraction;
        var lr = logRatio.Span;
        var okL = okLevel is null ? default : okLevel.Span;
        progress?.Report(new("threshold", 0.65));
        double logThreshold = options.Threshold is { } given ? Math.Log(given)
            : chosen.Separates ? Math.Max(chosen.Valley, Math.Log(UnimodalThreshold)) : Math.Log(UnimodalThreshold);

        // Vote, raised where the material is more stained than tissue.
        var stain = options.DenseThreshold > 0 ? StainRule.Measure(lr, (float)logThreshold, smoothed.Span, okL, logRatio.Shape.X) : null;
        var voteVolume = logRatio;
        ParallelChunks.For(lr.Length, (start, count) =>
        {
            var chunk = voteVolume.Span.Slice(start, count);
            TensorPrimitives.Add(chunk, (float)-logThreshold, chunk);
            TensorPrimitives.Multiply(chunk, 1f / Softness, chunk);
            TensorPrimitives.Sigmoid(chunk, chunk);
            if (stain is { } reference)
            {
                var scratch = new float[count];
                StainRule.RaiseVotes(chunk, smoothed.Span.Slice(start, count), reference, options.DenseThreshold, scratch);
            }

            if (okLevel is not null)
            {
                var flags = okLevel.Span.Slice(start, count);
                for (int i = 0; i < chunk.Length; i++)
                {
                    if (flags[i] == 0)
                    {
                        chunk[i] = 0;
                    }
                }
            }
        }, ct);

        progress?.Report(new("pool", 0.75));
        var pooled = Pool(voteVolume, validLevel, options.BlockSize, planar, ct);
        if (level == 0)
        {
            pooled.Span.CopyTo(confidence.Span);
        }
        else
        {
            VolumeResampling.TrilinearUpsample(pooled, confidence, 1 << level);
        }

        var m = mask.Span;
        var c = confidence.Span;
        for (int i = 0; i < m.Length; i++)
        {
            m[i] = c[i] >= 0.5f && (ok.IsEmpty || ok[i] != 0) ? (byte)1 : (byte)0;
        }

        MaskMorphology.FillHoles(mask, perSlice: planar, ct);
        if (options.RefineBoundary && level > 0)
        {
            progress?.Report(new("refine boundary", 0.85));
            if (BoundaryRefinement.Refine(mask, n, valid, level, ct))
            {
                MaskMorphology.FillHoles(mask, perSlice: planar, ct);
            }
        }

        progress?.Report(new("regions", 0.95));
        if (options.MinimumRegionSize > 1)
        {
            MaskMorphology.RemoveSmallRegions(mask, options.MinimumRegionSize, Connectivity.Face, ct);
        }

        // Padding is never tissue, and the confidence agrees with the mask (mask = confidence ≥ 0.5).
        for (int i = 0; i < m.Length; i++)
        {
            if (!ok.IsEmpty && ok[i] == 0)
            {
                m[i] = 0;
                c[i] = 0;
            }
            else if (m[i] != 0 && c[i] < 0.5f)
            {
                c[i] = 0.5f;
            }
            else if (m[i] == 0 && c[i] >= 0.5f)
            {
                c[i] = 0.4999f;
            }
        }

        return new VolumeOutcome(Math.Exp(logThreshold), level, noise, stabilised);
    }

    /// <summary>The texture measured at one pyramid level, and what it says about the volume.</summary>
    private sealed class LevelMaps
    {
        public required int Level { get; init; }

        public required Volume<float> LogRatio { get; init; }

        public required Volume<float> Smoothed { get; init; }

        public Volume<byte>? Valid { get; init; }

        public Volume<float>? ValidFraction { get; init; }

        /// <summary>The log ratio's histogram is clearly bimodal and its lower class is noise-like: resin and tissue separate here.</summary>
        public bool Separates { get; init; }

        /// <summary>Otsu's separability of the log ratio at this level.</summary>
        public double Separability { get; init; }

        /// <summary>The valley between the two classes (log units).</summary>
        public double Valley { get; init; }

        /// <summary>The 90th percentile of the ratio reaches the texture target: the tissue's texture is clear.</summary>
        public bool Textured { get; init; }

        public static LevelMaps Compute(Volume<float> n, Volume<byte>? valid, int level, NoiseModel noise, bool planar, ClassicalMaskOptions options, CancellationToken ct)
        {
            int factor = 1 << level;
            var image = level == 0 ? n : VolumeResampling.MeanDownsample(n, factor);
            Volume<float>? fraction = null;
            var ok = valid is null ? null : ValidAtLevel(valid, factor, ref fraction);
            double reference = TexturePyramid.NoiseReference(noise, level, planar, options, ct);
            var (logRatio, smoothed) = TexturePyramid.Measure(image, options, reference, ct);
            var sample = ThresholdSample(logRatio.Span, ok is null ? default : ok.Span, logRatio.Shape.X);
            var valley = ValleyThreshold.Compute(sample);
            var lower = sample.Where(v => v < valley.Threshold).ToArray();
            double lowMedian = lower.Length > 0 ? Select.Median(lower) : double.PositiveInfinity;
            bool separates = (valley.Separability >= TexturePyramid.Separability && lowMedian <= Math.Log(TexturePyramid.NoiseLikeRatio))
                || (valley.Separability >= TexturePyramid.NoiseSeparability && lowMedian <= Math.Log(TexturePyramid.NoiseRatio));
            double q90 = sample.Length == 0 ? double.NegativeInfinity : Select.Nth(sample, Math.Clamp((int)(TexturePyramid.TextureQuantile * (sample.Length - 1)), 0, sample.Length - 1));
            return new LevelMaps
            {
                Level = level,
                LogRatio = logRatio,
                Smoothed = smoothed,
                Valid = ok,
                ValidFraction = fraction,
                Separates = separates,
                Separability = valley.Separability,
                Valley = valley.Threshold,
                Textured = q90 >= Math.Log(TexturePyramid.TextureTarget),
            };
        }
    }

    // Invalid voxels: exact-constant padding and NaN/Inf; null when every voxel is valid.
    private static Volume<byte>? InvalidVoxels(IVolume input, Volume<float> normalized, long nonFinite, List<string> warnings, CancellationToken ct)
    {
        var padding = PaddingDetector.Detect(normalized, ct);
        Volume<byte>? valid = null;
        if (padding is not null)
        {
            valid = padding;
            var p = valid.Span;
            long count = 0;
            for (int i = 0; i < p.Length; i++)
            {
                count += p[i];
                p[i] = p[i] == 0 ? (byte)1 : (byte)0;
            }

            warnings.Add($"{100.0 * count / p.Length:F1}% of the voxels are exact-constant padding (or saturated); they are non-brain and left out of every statistic.");
        }

        if (nonFinite > 0 && input is Volume<float> raw)
        {
            warnings.Add($"{nonFinite} NaN/Inf voxels were treated as non-brain.");
            valid ??= Filled(normalized.Like<byte>());
            var r = raw.Span;
            var v = valid.Span;
            for (int i = 0; i < r.Length; i++)
            {
                if (!float.IsFinite(r[i]))
                {
                    v[i] = 0;
                }
            }
        }

        return valid;
    }

    private static Volume<byte> Filled(Volume<byte> v)
    {
        v.Span.Fill(1);
        return v;
    }

    // Invalid voxels take the median of the valid ones, so that no filter sees the padding's value.
    private static void FillInvalid(Volume<float> n, Volume<byte> valid)
    {
        var s = n.Span;
        var ok = valid.Span;
        var sample = ThresholdSample(s, ok, n.Shape.X);
        if (sample.Length == 0)
        {
            return;
        }

        float median = Select.Median(sample);
        for (int i = 0; i < s.Length; i++)
        {
            if (ok[i] == 0)
            {
                s[i] = median;
            }
        }
    }

    // The valid mask at a level: blocks whose voxels are all valid (as a 0/1 float volume for pooling and a byte mask).
    private static Volume<byte> ValidAtLevel(Volume<byte> valid, int factor, ref Volume<float>? fraction)
    {
        var full = valid.Like<float>();
        var f = full.Span;
        var v = valid.Span;
        for (int i = 0; i < f.Length; i++)
        {
            f[i] = v[i];
        }

        fraction = factor == 1 ? full : VolumeResampling.MeanDownsample(full, factor);
        var result = fraction.Like<byte>();
        var r = result.Span;
        var q = fraction.Span;
        for (int i = 0; i < r.Length; i++)
        {
            bool whole = q[i] >= 0.99f;
            r[i] = whole ? (byte)1 : (byte)0;
            q[i] = whole ? 1f : 0f;
        }

        return result;
    }

    // The vote averaged over a block of valid voxels (normalised convolution): padding does not dilute the confidence.
    private static Volume<float> Pool(Volume<float> vote, Volume<float>? valid, int block, bool planar, CancellationToken ct)
    {
        if (block <= 1)
        {
            return vote;
        }

        var size = planar ? (1, block, block) : (block, block, block);
        UniformFilter.Apply(vote, vote, size, ct);
        if (valid is null)
        {
            return vote;
        }

        var weight = valid.Like<float>();
        UniformFilter.Apply(valid, weight, size, ct);
        var v = vote.Span;
        var w = weight.Span;
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = w[i] > 1e-6f ? v[i] / w[i] : 0;
        }

        return vote;
    }

    private static double Median(IEnumerable<double> values)
    {
        var a = values.OrderBy(v => v).ToArray();
        return a.Length == 0 ? double.NaN : a[(a.Length - 1) / 2];
    }

    private static string Describe(MaskingMode mode, Shape3 shape, List<VolumeOutcome> outcomes)
    {
        if (outcomes.Count == 0)
        {
            return "no section had valid voxels";
        }

        var levels = outcomes.Select(o => o.Level).Distinct().OrderBy(l => l).ToArray();
        double sigma = Median(outcomes.Select(o => o.Noise.WhiteSigma));
        double correlation = Median(outcomes.Select(o => o.Noise.Correlation));
        string stabilised = outcomes.Any(o => o.Stabilised) ? ", noise stabilised" : string.Empty;
        return $"classical: mode {MaskingModes.Name(mode)}, working level {string.Join("/", levels)} ({string.Join("/", levels.Select(l => $"{1 << l}x"))}), " +
               $"threshold {Median(outcomes.Select(o => o.Threshold)):g3}, noise correlation {correlation:F2} voxels{stabilised}";
    }

    /// <summary>Scales a section's progress into its share of the stack.</summary>
    private sealed class SectionProgress(IProgress<ProgressReport> inner, int index, int count) : IProgress<ProgressReport>
    {
        public void Report(ProgressReport value)
        {
            if (value.Stage == "done")
            {
                return;
            }

            inner.Report(new($"section {index + 1}/{count}: {value.Stage}", (index + value.Fraction) / count));
        }
    }
}
