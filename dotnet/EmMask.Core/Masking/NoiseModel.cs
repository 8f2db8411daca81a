using EmMask.Core.Filters;
using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// The noise of an EM volume as white Gaussian noise of standard deviation <see cref="WhiteSigma"/> blurred in-plane by a
/// Gaussian of σ = <see cref="Correlation"/> voxels. Real EM noise is correlated (measured on the real-EM corpus:
/// c ≈ 0.4 for SBF-SEM and ATUM-SEM, 0.53 for FIB-SEM and ssTEM); a white-noise model underestimates its
/// band-pass energy by a factor 2–4, and resin then looks textured.
/// </summary>
/// <param name="WhiteSigma">Standard deviation of the white noise before the blur (≥ <see cref="Floor"/>).</param>
/// <param name="Correlation">Gaussian σ of the blur in voxels, 0..<see cref="MaximumCorrelation"/>.</param>
public readonly record struct NoiseModel(double WhiteSigma, double Correlation)
{
    /// <summary>A floor so that noise-free synthetic volumes do not divide by zero.</summary>
    public const double Floor = 1e-4;

    /// <summary>Largest correlation the estimator reports.</summary>
    public const double MaximumCorrelation = 2.0;

    /// <summary>Edge of the square patches the estimate is made on.</summary>
    public const int Patch = 16;

    /// <summary>Share of the patches, those with the least coarse structure, on which the correlation is measured.</summary>
    public const double FlatShare = 0.25;

    /// <summary>
    /// Estimates the model from the valid voxels of a volume, section by section (x–y): (1) per 16×16 patch, the median
    /// absolute response to the second-difference kernel [1, −2, 1]⊗[1, −2, 1] and to the same kernel dilated by 2, and a
    /// coarse-structure score (the spread of the patch's 4×4 block means); (2) on the quarter of patches with the least
    /// coarse structure, the ratio of the two responses gives the correlation (it is 1 for white noise and grows with
    /// the blur); (3) the median absolute deviation of the second differences over all valid voxels gives the noise
    /// level, converted to white units through the kernel's gain for that blur.
    /// </summary>
    /// <param name="volume">The (normalised) volume.</param>
    /// <param name="valid">Nonzero where a voxel may be used (not padding); null = all.</param>
    /// <param name="patches">The patch statistics, when the caller has them already (<see cref="PatchStatistics.Measure"/>).</param>
    public static NoiseModel Estimate(Volume<float> volume, Volume<byte>? valid = null, PatchStatistics? patches = null)
    {
        ArgumentNullException.ThrowIfNull(volume);
        patches ??= PatchStatistics.Measure(volume, valid);
        if (patches.Count == 0)
        {
            return new NoiseModel(Math.Max(patches.FallbackSigma, Floor), 0);
        }

        var order = Enumerable.Range(0, patches.Count).OrderBy(i => patches.Coarse[i]).ThenBy(i => i).ToArray();
        int take = Math.Max(Math.Min(4, patches.Count), (int)(FlatShare * patches.Count));
        var e1 = new float[take];
        var e2 = new float[take];
        for (int k = 0; k < take; k++)
        {
            e1[k] = patches.Second[order[k]];
            e2[k] = patches.Dilated[order[k]];
        }

        double m1 = Select.Median(e1);
        double ratio = m1 > 0 ? Select.Median(e2) / m1 : 1.0;
        double c = CorrelationFromRatio(Math.Sqrt(Math.Max(ratio, 1e-12)));
        double gain = SecondDifferenceGain(c);
        double white = patches.SecondDifferenceSigma / (gain * gain);
        return new NoiseModel(Math.Max(white, Floor), c);
    }

    /// <summary>The 1D norm ‖[1, −2, 1] * g_c‖ (6^(1/2) when c = 0): the 2D kernel's gain is its square.</summary>
    internal static double SecondDifferenceGain(double c) => Norm(Convolve([1, -2, 1], GaussianTaps(c)));

    /// <summary>The 1D ratio ‖[1, 0, −2, 0, 1] * g_c‖ / ‖[1, −2, 1] * g_c‖, monotone in c; inverted by table lookup.</summary>
    internal static double DilatedRatio(double c) => Norm(Convolve([1, 0, -2, 0, 1], GaussianTaps(c))) / SecondDifferenceGain(c);

    /// <summary>The correlation whose <see cref="DilatedRatio"/> is <paramref name="ratio"/> (clamped to 0..max).</summary>
    internal static double CorrelationFromRatio(double ratio)
    {
        if (!(ratio > RatioTable[0]))
        {
            return 0;
        }

        for (int i = 1; i < RatioTable.Length; i++)
        {
            if (ratio <= RatioTable[i])
            {
                double t = (ratio - RatioTable[i - 1]) / (RatioTable[i] - RatioTable[i - 1]);
                return (i - 1 + t) * TableStep;
            }
        }

        return MaximumCorrelation;
    }

    /// <summary>Normalised, truncated (4σ) Gaussian taps; a single 1 for σ below 0.05.</summary>
    internal static double[] GaussianTaps(double sigma)
    {
        if (sigma < 0.05)
        {
            return [1.0];
        }

        int r = (int)((4 * sigma) + 0.5);
        var k = new double[(2 * r) + 1];
        double sum = 0;
        for (int i = -r; i <= r; i++)
        {
            sum += k[i + r] = Math.Exp(-0.5 * i * i / (sigma * sigma));
        }

        for (int i = 0; i < k.Length; i++)
        {
            k[i] /= sum;
        }

        return k;
    }

    internal static double[] Convolve(double[] a, double[] b)
    {
        var r = new double[a.Length + b.Length - 1];
        for (int i = 0; i < a.Length; i++)
        {
            for (int j = 0; j < b.Length; j++)
            {
                r[i + j] += a[i] * b[j];
            }
        }

        return r;
    }

    private static double Norm(double[] k) => Math.Sqrt(k.Sum(v => v * v));

    private const double TableStep = 0.025;

    private static readonly double[] RatioTable = Enumerable.Range(0, (int)(MaximumCorrelation / TableStep) + 1)
        .Select(i => DilatedRatio(i * TableStep)).ToArray();
}

/// <summary>
/// Per-patch statistics of a volume's sections that the noise estimates share: 16×16 patches of valid voxels, their mean
/// intensity, median |second difference| (plain and dilated), and coarse-structure score.
/// </summary>
public sealed class PatchStatistics
{
    private PatchStatistics(float[] mean, float[] second, float[] dilated, float[] coarse, double sigma, double fallback)
    {
        Mean = mean;
        Second = second;
        Dilated = dilated;
        Coarse = coarse;
        SecondDifferenceSigma = sigma;
        FallbackSigma = fallback;
    }

    /// <summary>Number of patches.</summary>
    public int Count => Mean.Length;

    /// <summary>Mean intensity per patch.</summary>
    public float[] Mean { get; }

    /// <summary>Median |[1,−2,1]⊗[1,−2,1]| response per patch.</summary>
    public float[] Second { get; }

    /// <summary>Median |dilated kernel| response per patch.</summary>
    public float[] Dilated { get; }

    /// <summary>Standard deviation of the patch's sixteen 4×4 block means: large where the patch holds structure.</summary>
    public float[] Coarse { get; }

    /// <summary>1.4826 · MAD of the second differences over all patches (in kernel units).</summary>
    public double SecondDifferenceSigma { get; }

    /// <summary>A white-noise σ from all valid voxels when no whole patch fits (tiny volumes); else 0.</summary>
    public double FallbackSigma { get; }

    /// <summary>Largest number of patches measured (spread evenly over the volume).</summary>
    public const int PatchLimit = 4096;

    /// <summary>Measures the patches of every section (a regular subset of at most <see cref="PatchLimit"/>).</summary>
    public static PatchStatistics Measure(Volume<float> volume, Volume<byte>? valid)
    {
        var shape = volume.Shape;
        int p = NoiseModel.Patch;
        int py = (shape.Y - 4) / p, px = (shape.X - 4) / p;
        long total = (long)shape.Z * Math.Max(0, py) * Math.Max(0, px);
        if (total == 0)
        {
            return new PatchStatistics([], [], [], [], 0, TinyEstimate(volume));
        }

        int step = (int)Math.Max(1, (total + PatchLimit - 1) / PatchLimit);
        var mean = new List<float>();
        var second = new List<float>();
        var dilated = new List<float>();
        var coarse = new List<float>();
        var all = new List<float>();
        var r1 = new float[p * p];
        var r2 = new float[p * p];
        var blocks = new double[16];
        var data = volume.Span;
        var ok = (valid is null ? default : valid.Span);
        for (long k = 0; k < total; k += step)
        {
            int z = (int)(k / ((long)py * px));
            int rest = (int)(k % ((long)py * px));
            int y0 = 2 + ((rest / px) * p), x0 = 2 + ((rest % px) * p);
            if (!ok.IsEmpty && !AllValid(ok, shape, z, y0 - 2, x0 - 2, p + 4))
            {
                continue;
            }

            double sum = 0;
            Array.Clear(blocks);
            for (int y = 0; y < p; y++)
            {
                int row = (int)shape.Index(z, y0 + y, 0);
                for (int x = 0; x < p; x++)
                {
                    int i = row + x0 + x;
                    float v = data[i];
                    sum += v;
                    blocks[((y / 4) * 4) + (x / 4)] += v;
                    r1[(y * p) + x] = SecondDifference(data, i, shape.X, 1);
                    r2[(y * p) + x] = SecondDifference(data, i, shape.X, 2);
                }
            }

            double bm = 0, bs = 0;
            foreach (double b in blocks)
            {
                bm += b / 16;
            }

            bm /= 16;
            foreach (double b in blocks)
            {
                bs += ((b / 16) - bm) * ((b / 16) - bm);
            }

            all.AddRange(r1);
            for (int i = 0; i < r1.Length; i++)
            {
                r1[i] = Math.Abs(r1[i]);
                r2[i] = Math.Abs(r2[i]);
            }

            mean.Add((float)(sum / (p * p)));
            second.Add(Select.Median(r1));
            dilated.Add(Select.Median(r2));
            coarse.Add((float)Math.Sqrt(bs / 16));
        }

        double sigma = 0;
        if (all.Count > 0)
        {
            var a = all.ToArray();
            float median = Select.Median(a);
            for (int i = 0; i < a.Length; i++)
            {
                a[i] = Math.Abs(a[i] - median);
            }

            sigma = 1.4826 * Select.Median(a);
        }

        return new PatchStatistics([.. mean], [.. second], [.. dilated], [.. coarse], sigma, mean.Count == 0 ? TinyEstimate(volume) : 0);
    }

    // [1,−2,1]⊗[1,−2,1] at lag d (1 or 2), centred on voxel i of its section.
    private static float SecondDifference(ReadOnlySpan<float> v, int i, int nx, int d)
    {
        int up = i - (d * nx), down = i + (d * nx);
        float rowUp = v[up - d] - (2 * v[up]) + v[up + d];
        float row = v[i - d] - (2 * v[i]) + v[i + d];
        float rowDown = v[down - d] - (2 * v[down]) + v[down + d];
        return rowUp - (2 * row) + rowDown;
    }

    private static bool AllValid(ReadOnlySpan<byte> ok, Shape3 shape, int z, int y0, int x0, int size)
    {
        for (int y = y0; y < y0 + size; y++)
        {
            var row = ok.Slice((int)shape.Index(z, y, x0), size);
            if (row.IndexOf((byte)0) >= 0)
            {
                return false;
            }
        }

        return true;
    }

    // Volumes too small for one patch: MAD of first differences along x (or y, z) as white noise.
    private static double TinyEstimate(Volume<float> volume)
    {
        var s = volume.Shape;
        var v = volume.Span;
        var d = new List<float>();
        int stride = s.X >= 2 ? 1 : s.Y >= 2 ? s.X : s.SliceLength;
        int axis = s.X >= 2 ? s.X : s.Y >= 2 ? s.Y : s.Z;
        for (int i = 0; i + stride < v.Length; i++)
        {
            int coordinate = stride == 1 ? i % s.X : stride == s.X ? (i / s.X) % s.Y : i / s.SliceLength;
            if (coordinate + 1 < axis)
            {
                d.Add(v[i + stride] - v[i]);
            }
        }

        if (d.Count == 0)
        {
            return NoiseModel.Floor;
        }

        var a = d.ToArray();
        float m = Select.Median(a);
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = Math.Abs(a[i] - m);
        }

        return Math.Max(1.4826 * Select.Median(a) / Math.Sqrt(2), NoiseModel.Floor);
    }
}
