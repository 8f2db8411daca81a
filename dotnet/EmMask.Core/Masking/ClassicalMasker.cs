using System.Buffers;
using System.Numerics.Tensors;
using EmMask.Core.Filters;
using EmMask.Core.Labeling;
using EmMask.Core.Morphology;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// The classical brain/non-brain masker: a structure-tensor texture measure on the Difference of Gaussians and the smoothed
/// image, against the volume's own noise level, thresholded, pooled into a confidence map over blocks, and cleaned of small regions.
/// </summary>
/// <remarks>
/// Steps (the README's "How the classical masker works" says the same):
/// <list type="number">
/// <item>Robust normalisation (1st/99th percentile → 0/1) and a white-noise estimate σₙ from first differences.</item>
/// <item>Band-pass d = G(dog_sigma_low)·I − G(dog_sigma_high)·I and smoothed image s = G(edge_sigma)·I.</item>
/// <item>Structure tensor J = G(texture_sigma) · (∇d∇dᵀ + ∇s∇sᵀ), gradients scaled to noise units; its smallest eigenvalue
/// λ is large only where texture varies in every orientation (tissue) and small in flat resin and for sheet- or line-like
/// structure (curtaining, knife chatter, smooth walls). Products of gradients make it independent of polarity.</item>
/// <item>Isotropy: where λ_min/λ_max is below the isotropy parameter ρ₀, λ is scaled by (λ_min/(ρ₀λ_max))³, so r drops by
/// that ratio to the power 1.5. A strong, sharp edge leaks through the window's tails as far as the window reaches, but
/// what leaks is nearly rank one; texture is not.</item>
/// <item>Texture-to-noise ratio r = √(λ/2)/σₙ (≈ 1 in pure noise); threshold t on log r: given, or the histogram valley
/// between Otsu's two classes (<see cref="ValleyThreshold"/>), or 2 when the
/// log-ratio histogram has a single mode (all tissue or all resin).</item>
/// <item>A soft vote v = sigmoid((log r − log t)/0.25).</item>
/// <item>Electron-dense structures (<see cref="DenseStructure"/>): where the smoothed image lies more than dense_threshold
/// robust standard deviations beyond the tissue's median, away from resin, the vote is scaled down; non-dense voxels they
/// enclose within dense_gap voxels along two axes get vote 0. This removes tracheae (cuticle and lumen).</item>
/// <item>The vote is averaged over a block_size³ box: that is the confidence;
/// the mask is confidence ≥ 0.5, then regions under minimum_region_size voxels are removed.</item>
/// </list>
/// A constant volume has no texture: the result is an all-0 mask with a warning. NaN/Inf voxels are set to 0 in the mask.
/// </remarks>
public static class ClassicalMasker
{
    /// <summary>Width of the soft vote in log units of the texture-to-noise ratio.</summary>
    public const float Softness = 0.25f;

    /// <summary>Threshold used when the ratio's histogram is unimodal (Otsu's separability below <see cref="UnimodalSeparability"/>).</summary>
    public const double UnimodalThreshold = 2.0;

    /// <summary>Otsu separability under which the histogram is taken as a single mode.</summary>
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

    /// <summary>A regular sample of the log ratio for the automatic threshold (<see cref="SampleStride"/>, limit 2²⁰); the scipy peer takes the same one.</summary>
    internal static float[] ThresholdSample(ReadOnlySpan<float> values, int rowLength)
    {
        int step = SampleStride(values.Length, ThresholdSampleLimit, rowLength);
        var sample = new float[(values.Length + step - 1) / step];
        for (int i = 0, k = 0; i < values.Length; i += step, k++)
        {
            sample[k] = values[i];
        }

        return sample;
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
        var warnings = new List<string>();
        var ct = cancellationToken;

        progress?.Report(new("normalise", 0.0));

        // Temporaries come from a pool: a run allocates only its two outputs. The normalised image is the confidence's
        // own buffer: it is free once the DoG is done (unless it holds the smoothed image), and every fresh page costs
        // a fault (about 3 µs each on a VM) on a cold run.
        var normalized = new Volume<float>(input.Shape, input.VoxelSize);
        using var smoothedLow = PooledVolume.Like(normalized);
        using var bandPass = PooledVolume.Like(normalized);
        var normal = IntensityNormalizer.Normalize(input, normalized, ct);
        var n = normal.Normalized;
        if (normal.IsConstant)
        {
            warnings.Add($"The volume is constant (value {normal.Low:g}); it has no texture, so the mask is all 0 (non-brain).");
            progress?.Report(new("done", 1.0));
            n.Span.Clear();
            return new MaskResult(n.Like<byte>(), n, options.Threshold ?? UnimodalThreshold, warnings);
        }

        if (normal.NonFinite > 0)
        {
            warnings.Add($"{normal.NonFinite} NaN/Inf voxels were treated as non-brain.");
        }

        double noise = NoiseEstimator.Estimate(n);
        ct.ThrowIfCancellationRequested();

        // a = G(low)·n, d = a − G(high)·n; s = a when edge_sigma equals dog_sigma_low, else G(edge)·n (n is free after).
        progress?.Report(new("difference of gaussians", 0.1));
        var a = smoothedLow.Volume;
        var d = bandPass.Volume;
        PairedGaussian.DifferenceAndLow(n, a, d, Sigma3.Isotropic(options.DogSigmaLow), Sigma3.Isotropic(options.DogSigmaHigh), ct);
        var s = a;
        if (options.EdgeSigma != options.DogSigmaLow)
        {
            GaussianFilter.Apply(n, n, Sigma3.Isotropic(options.EdgeSigma), cancellationToken: ct);
            s = n;
        }

        progress?.Report(new("structure tensor", 0.3));
        float dScale = (float)(1.0 / Math.Sqrt(FilterGains.DifferenceOfGaussiansGradient(options.DogSigmaLow, options.DogSigmaHigh)));
        float sScale = (float)(1.0 / Math.Sqrt(FilterGains.SmoothedGradient(options.EdgeSigma)));
        var confidence = ReferenceEquals(s, n) ? new Volume<float>(input.Shape, input.VoxelSize) : n;
        var logRatio = confidence; // holds log r, then the vote, then (pooled in place) the confidence
        // log r = ½·log(λ_min/2) − log σₙ: pure noise gives r ≈ 1. A floor keeps flat regions finite. The tensor's last
        // pass writes it directly.
        float logOffset = (float)((-0.5 * Math.Log(2.0)) - Math.Log(noise));
        StructureTensor.SmallestEigenvalue(d, s, dScale, sScale, options.TextureSigma, logRatio, ct, logOffset, (float)options.Isotropy);
        var lr = logRatio.Span;

        progress?.Report(new("threshold", 0.7));
        double logThreshold;
        if (options.Threshold is { } given)
        {
            logThreshold = Math.Log(given);
        }
        else
        {
            var valley = ValleyThreshold.Compute(ThresholdSample(lr, input.Shape.X));
            logThreshold = valley.Separability >= UnimodalSeparability ? valley.Threshold : Math.Log(UnimodalThreshold);
        }

        // Electron-dense structures (tracheal cuticle) and what they enclose (the lumen) are non-brain, whatever their
        // texture: their votes are scaled down in the same pass that computes the vote, and the dense voxels marked.
        var dense = options.DenseThreshold > 0 ? DenseStructure.Measure(lr, (float)logThreshold, s.Span, input.Shape.X) : null;
        byte[]? flags = dense is not null && options.DenseGap > 0 ? ArrayPool<byte>.Shared.Rent(lr.Length) : null;
        try
        {
            // vote = sigmoid((log r − log t) / softness), pooled over the block into the confidence.
            ParallelChunks.For(lr.Length, (start, count) =>
            {
                var chunk = logRatio.Span.Slice(start, count);
                TensorPrimitives.Add(chunk, (float)-logThreshold, chunk);
                TensorPrimitives.Multiply(chunk, 1f / Softness, chunk);
                TensorPrimitives.Sigmoid(chunk, chunk);
                if (dense is { } reference)
                {
                    var scratch = ArrayPool<float>.Shared.Rent(count);
                    DenseStructure.ScaleVotes(chunk, s.Span.Slice(start, count), reference, options.DenseThreshold, scratch, flags is null ? default : flags.AsSpan(start, count));
                    ArrayPool<float>.Shared.Return(scratch);
                }
            }, ct);

            if (flags is not null)
            {
                progress?.Report(new("dense structures", 0.75));
                DenseStructure.CountEnclosures(input.Shape, flags, options.DenseGap, ct);
                ParallelChunks.For(lr.Length, (start, count) => DenseStructure.ZeroEnclosed(logRatio.Span.Slice(start, count), flags.AsSpan(start, count)), ct);
            }
        }
        finally
        {
            if (flags is not null)
            {
                ArrayPool<byte>.Shared.Return(flags);
            }
        }

        progress?.Report(new("pool", 0.8));
        if (options.BlockSize > 1)
        {
            UniformFilter.Apply(confidence, confidence, (options.BlockSize, options.BlockSize, options.BlockSize), ct);
        }

        progress?.Report(new("regions", 0.85));
        var mask = confidence.Like<byte>();
        ParallelChunks.For(mask.Span.Length, (start, count) =>
        {
            var c = confidence.Span.Slice(start, count);
            var m = mask.Span.Slice(start, count);
            for (int i = 0; i < m.Length; i++)
            {
                m[i] = c[i] >= 0.5f ? (byte)1 : (byte)0;
            }
        }, ct);

        if (normal.NonFinite > 0 && input is Volume<float> raw)
        {
            var r = raw.Span;
            var c = confidence.Span;
            var m = mask.Span;
            for (int i = 0; i < m.Length; i++)
            {
                if (!float.IsFinite(r[i]))
                {
                    m[i] = 0;
                    c[i] = 0;
                }
            }
        }

        if (options.MinimumRegionSize > 1)
        {
            MaskMorphology.RemoveSmallRegions(mask, options.MinimumRegionSize, Connectivity.Face, ct);
        }

        mask.VoxelSize = input.VoxelSize;
        confidence.VoxelSize = input.VoxelSize;
        progress?.Report(new("done", 1.0));
        return new MaskResult(mask, confidence, Math.Exp(logThreshold), warnings);
    }
}
