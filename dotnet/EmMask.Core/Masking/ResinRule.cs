using System.Numerics.Tensors;
using EmMask.Core.Filters;
using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// Material at the resin's own intensity is resin, even where the texture measure calls it tissue. At coarse working
/// levels real resin is not flat: uneven illumination, charging, tile seams and grain give it texture at the scale the
/// pyramid looks at, and on pale, weakly textured tissue (SBF-SEM Platynereis: resin at level 3 has a texture ratio of
/// about 9, tissue about 14) the two overlap. The resin's intensity does not: it is one flat material.
/// </summary>
/// <remarks>
/// Measured on the stain rule's sample (<see cref="StainRule.Sample"/>): the resin class's spread
/// σ_r = 1.4826·median|s − m_r| of the smoothed image s; when that does not separate, σ_r over the class's voxels on the
/// far side of m_r from the tissue, with m_r re-centred on the resin's peak (<see cref="PeakIterations"/> times the
/// median of the class's voxels within 2σ_r of it), and the peak (those within 2σ_r) must hold the minimum share: the
/// class also holds pale tissue, on the near side. The rule applies only when the resin is a distinct, flat material,
/// |m_t − m_r| ≥ <see cref="MinimumSeparation"/>·σ_r (in every all-tissue crop of the real-EM corpus the low-texture
/// class is pale tissue, 0.2–1.9 of its own spreads from the textured class; real resin beside tissue is 4.5–55).
/// Resin-intensity voxels are those within W·σ_r of m_r (W = <see cref="ClassicalMaskOptions.ResinWindow"/>) and
/// nearer m_r than m_t; ρ is the 90th percentile of their log texture ratio. Each voxel's resin weight is
/// <c>w = sigmoid((W − |s − m_r|/σ_r)/¼) · sigmoid((−½|m_r − m_t|/σ_t − z)/¼) · sigmoid((ρ − log r)/¼)</c>, with z the
/// stain score: at the resin's intensity, on the resin's side of halfway to the tissue, and no more textured than
/// most such voxels (the pale, faintly textured tissue at a phantom's edge keeps its vote through the last factor);
/// then w becomes its minimum over the voxel's 3-box (<see cref="Erode"/>), so the cells at the tissue's edge, whose
/// intensity is a mix, keep their vote (without it the boundary moved 1–3 voxels into the tissue at level 2). The
/// vote, and again the pooled vote, are scaled by 1 − w, so a resin region is not pulled into the tissue by the pooling
/// window either. The block halo grows by <see cref="Reach"/> voxel of the working level.
/// </remarks>
internal static class ResinRule
{
    /// <summary>Smallest |m_t − m_r| in resin spreads for which the resin counts as a distinct flat material.</summary>
    public const double MinimumSeparation = 8.0;

    /// <summary>Smallest share of the (valid) sample the resin class must hold: a few flat voxels in an all-tissue section are no resin.</summary>
    public const double MinimumShare = 0.03;

    /// <summary>Quantile of the resin-intensity voxels' log texture ratio above which a voxel keeps its vote.</summary>
    public const double TextureQuantile = 0.9;

    /// <summary>Width of each soft factor (in resin spreads, tissue spreads and log-ratio units).</summary>
    public const float Softness = 0.25f;

    /// <summary>The resin's intensity and spread, the window, the halfway stain score and the texture ceiling ρ.</summary>
    internal readonly record struct Reference(float ResinMedian, float ResinSpread, float Window, float TextureCeiling);

    /// <summary>
    /// The reference, or null when the resin is not a distinct flat material (see remarks) or the window is 0. When the
    /// lower class (log ratio under <paramref name="logThreshold"/>) shows none, the measure is repeated once on the
    /// class's more untextured half (log ratio under the class's median): on a coarse image the class also holds weakly
    /// textured tissue, whose intensities can outnumber the resin's and hide its peak (the SEM tissue edge averaged 4×:
    /// 28 % of the image in the class, 16 % resin), while in the untextured half the resin is the majority.
    /// </summary>
    public static Reference? Measure(StainRule.Sample sample, float logThreshold, StainRule.Reference stain, double window)
    {
        if (!(window > 0))
        {
            return null;
        }

        if (MeasureClass(sample, logThreshold, stain, window) is { } reference)
        {
            return reference;
        }

        float half = UntexturedHalf(sample.LogRatio, logThreshold);
        return half < logThreshold ? MeasureClass(sample, half, stain, window) : null;
    }

    /// <summary>The median log ratio of the lower class (values under <paramref name="logThreshold"/>), or +∞ when it is empty.</summary>
    internal static float UntexturedHalf(ReadOnlySpan<float> logRatio, float logThreshold)
    {
        var low = new List<float>();
        foreach (float r in logRatio)
        {
            if (r < logThreshold)
            {
                low.Add(r);
            }
        }

        return low.Count == 0 ? float.PositiveInfinity : Select.Median([.. low]);
    }

    /// <summary>
    /// The measure on one class, the voxels with log ratio under <paramref name="logThreshold"/>; <paramref name="window"/>
    /// &gt; 0. The texture ceiling is read from <paramref name="ceilingRatio"/> (the sample's real log ratios, in its
    /// order) when given, else from the sample's.
    /// </summary>
    internal static Reference? MeasureClass(StainRule.Sample sample, float logThreshold, StainRule.Reference stain, double window, float[]? ceilingRatio = null)
    {
        float mr = stain.ResinMedian, mt = stain.TissueMedian;
        var low = new List<float>();
        for (int i = 0; i < sample.LogRatio.Length; i++)
        {
            if (sample.LogRatio[i] < logThreshold)
            {
                low.Add(sample.Smoothed[i]);
            }
        }

        if (low.Count == 0 || low.Count < MinimumShare * sample.LogRatio.Length)
        {
            return null;
        }

        // The class's median and two-sided spread, when they already show a distinct flat material.
        float spread = TwoSidedSpread(low, mr);
        if (!IsDistinct(mt, mr, spread))
        {
            // Otherwise the resin's peak may still be one: the class also holds pale, faintly textured tissue, all on
            // the tissue's side of the peak, which drags the median towards the tissue and widens a two-sided spread
            // (SBF-SEM platelets in bright grainy resin: 5.7 spreads from the tissue, 11.9 measured on the peak). So the
            // spread comes from the far side of the peak only, with the median re-centred on the voxels within two
            // spreads of it, and the minimum share then holds for the peak itself (its voxels within 2σ_r): in an
            // all-tissue crop the far side of the pale class can collapse onto a few bright voxels.
            spread = FarSpread(low, mr, mt);
            for (int iteration = 0; iteration < PeakIterations; iteration++)
            {
                var near = low.FindAll(v => Math.Abs(v - mr) <= 2 * spread);
                if (near.Count == 0)
                {
                    break;
                }

                mr = Select.Median([.. near]);
                spread = FarSpread(low, mr, mt);
            }

            if (low.Count(v => Math.Abs(v - mr) <= 2 * spread) < MinimumShare * sample.LogRatio.Length
                || !IsDistinct(mt, mr, spread))
            {
                return null;
            }
        }

        float w = (float)window;
        var ratios = new List<float>();
        for (int i = 0; i < sample.LogRatio.Length; i++)
        {
            float d = Math.Abs(sample.Smoothed[i] - mr);
            if (d < w * spread && d < Math.Abs(sample.Smoothed[i] - mt))
            {
                ratios.Add((ceilingRatio ?? sample.LogRatio)[i]);
            }
        }

        if (ratios.Count == 0)
        {
            return null;
        }

        float[] r = [.. ratios];
        float ceiling = Select.Nth(r, Math.Clamp((int)(TextureQuantile * (r.Length - 1)), 0, r.Length - 1));
        return new Reference(mr, spread, w, ceiling);
    }

    /// <summary>1.4826 · median |v − <paramref name="median"/>| over <paramref name="values"/> (non-empty): the resin class's two-sided robust spread.</summary>
    internal static float TwoSidedSpread(List<float> values, float median) => 1.4826f * Select.Median([.. values.Select(v => Math.Abs(v - median))]);

    /// <summary>Whether resin of median <paramref name="mr"/> and spread <paramref name="spread"/> is a distinct flat material beside tissue of median <paramref name="mt"/> (at least <see cref="MinimumSeparation"/> spreads apart).</summary>
    internal static bool IsDistinct(float mt, float mr, float spread) => spread > 0 && Math.Abs(mt - mr) >= MinimumSeparation * spread;

    /// <summary>Re-centring steps of the resin's median on its peak (<see cref="Measure"/>).</summary>
    public const int PeakIterations = 3;

    // 1.4826·median|v − m_r| over the values on the far side of m_r from m_t (all of them when none lies there).
    private static float FarSpread(List<float> values, float mr, float mt)
    {
        var far = new List<float>();
        foreach (float v in values)
        {
            if ((v - mr) * (mr - mt) > 0)
            {
                far.Add(Math.Abs(v - mr));
            }
        }

        if (far.Count == 0)
        {
            far.AddRange(values.Select(v => Math.Abs(v - mr)));
        }

        return 1.4826f * Select.Median([.. far]);
    }

    /// <summary>
    /// The resin weight w (remarks) of every voxel at the working level, from the log texture ratio and the smoothed
    /// image; 0 on invalid voxels.
    /// </summary>
    public static Volume<float> Weight(Volume<float> logRatio, Volume<float> smoothed, Reference resin, StainRule.Reference stain, Volume<byte>? valid, bool planar, CancellationToken ct)
    {
        var weight = logRatio.Like<float>();
        var w = weight.Memory;
        var lr = logRatio.Memory;
        var s = smoothed.Memory;
        var ok = valid?.Memory;
        float inverseSpread = 1f / resin.ResinSpread;
        float scale = stain.Scale; // z = scale·(s − m_t)
        float halfway = -0.5f * Math.Abs(scale * (stain.ResinMedian - stain.TissueMedian));
        float k = 1f / Softness;
        ParallelChunks.For(weight.Span.Length, (start, count) =>
        {
            var source = s.Span.Slice(start, count);
            var ratio = lr.Span.Slice(start, count);
            var f = w.Span.Slice(start, count);
            var g = new float[count];
            var h = new float[count];

            // sigmoid((W − |s − m_r|/σ_r)/¼)
            TensorPrimitives.Subtract(source, resin.ResinMedian, f);
            TensorPrimitives.Abs(f, f);
            TensorPrimitives.Multiply(f, -inverseSpread * k, f);
            TensorPrimitives.Add(f, resin.Window * k, f);
            TensorPrimitives.Sigmoid(f, f);

            // sigmoid((halfway − z)/¼), z = scale·(s − m_t)
            TensorPrimitives.Multiply(source, -scale * k, g);
            TensorPrimitives.Add(g, ((scale * stain.TissueMedian) + halfway) * k, g);
            TensorPrimitives.Sigmoid(g, g);

            // sigmoid((ρ − log r)/¼)
            TensorPrimitives.Multiply(ratio, -k, h);
            TensorPrimitives.Add(h, resin.TextureCeiling * k, h);
            TensorPrimitives.Sigmoid(h, h);

            TensorPrimitives.Multiply(f, g, f);
            TensorPrimitives.Multiply(f, h, f);
            if (ok is { } flags)
            {
                var o = flags.Span.Slice(start, count);
                for (int i = 0; i < f.Length; i++)
                {
                    if (o[i] == 0)
                    {
                        f[i] = 0;
                    }
                }
            }
        }, ct);

        Erode(weight, planar, ct);
        return weight;
    }

    /// <summary>
    /// 1 where a valid voxel of the working level lies at the resin's intensity (|s − m_r| ≤ W·σ_r), else 0. Unlike
    /// <see cref="Weight"/>, texture plays no part: this says what material could be resin, not what is.
    /// </summary>
    public static Volume<float> AtResinIntensity(Volume<float> smoothed, Reference resin, Volume<byte>? valid)
    {
        var result = smoothed.Like<float>();
        var s = smoothed.Span;
        var r = result.Span;
        var ok = valid is null ? default : valid.Span;
        float reach = resin.Window * resin.ResinSpread;
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = (ok.IsEmpty || ok[i] != 0) && Math.Abs(s[i] - resin.ResinMedian) <= reach ? 1f : 0f;
        }

        return result;
    }

    /// <summary>How far (voxels of the working level) a weight depends on its neighbours: the 3-box minimum.</summary>
    public const int Reach = 1;

    /// <summary>
    /// The minimum over each voxel's 3-box (3×3 in-plane when <paramref name="planar"/>; the border's own value
    /// outside), in place: a cell at the tissue's edge, whose intensity is a mix, keeps its vote unless its neighbours
    /// are resin too.
    /// </summary>
    internal static void Erode(Volume<float> weight, bool planar, CancellationToken ct)
    {
        var shape = weight.Shape;
        var data = weight.Memory;
        int nz = shape.Z, ny = shape.Y, nx = shape.X;
        long plane = (long)ny * nx;
        var options = new ParallelOptions { MaxDegreeOfParallelism = ParallelLines.Degree, CancellationToken = ct };

        // x then y within each section.
        Parallel.For(0, nz, options, z =>
        {
            var slice = data.Span.Slice((int)(z * plane), (int)plane);
            var line = new float[Math.Max(nx, ny)];
            for (int y = 0; y < ny; y++)
            {
                MinimumOfThree(slice.Slice(y * nx, nx), 1, nx, line);
            }

            for (int x = 0; x < nx; x++)
            {
                MinimumOfThree(slice[x..], nx, ny, line);
            }
        });

        if (planar || nz == 1)
        {
            return;
        }

        Parallel.For(0, ny, options, y =>
        {
            var line = new float[nz];
            var all = data.Span;
            for (int x = 0; x < nx; x++)
            {
                MinimumOfThree(all[((y * nx) + x)..], (int)plane, nz, line);
            }
        });
    }

    // values[i·stride] = min(values[(i−1)·stride], values[i·stride], values[(i+1)·stride]) for i in [0, n), in place.
    private static void MinimumOfThree(Span<float> values, int stride, int n, float[] line)
    {
        for (int i = 0; i < n; i++)
        {
            line[i] = values[i * stride];
        }

        for (int i = 0; i < n; i++)
        {
            float m = line[i];
            if (i > 0 && line[i - 1] < m)
            {
                m = line[i - 1];
            }

            if (i + 1 < n && line[i + 1] < m)
            {
                m = line[i + 1];
            }

            values[i * stride] = m;
        }
    }

    /// <summary>Scales <paramref name="values"/> by 1 − <paramref name="weight"/> (same shape).</summary>
    public static void Lower(Volume<float> values, Volume<float> weight, CancellationToken ct)
    {
        var v = values.Memory;
        var w = weight.Memory;
        ParallelChunks.For(v.Length, (start, count) =>
        {
            var chunk = v.Span.Slice(start, count);
            var weights = w.Span.Slice(start, count);
            for (int i = 0; i < chunk.Length; i++)
            {
                chunk[i] *= 1f - weights[i];
            }
        }, ct);
    }
}
