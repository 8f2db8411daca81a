using EmMask.Core.Volumes;

namespace EmMask.Core.Phantom;

/// <summary>
/// FIB-SEM acquisition artefacts: curtaining (streaks along y, nearly constant in z, strongest in resin), knife
/// chatter (a y band and/or a few z slices with periodic intensity modulation), slow z drift of gain and offset,
/// broad shading, and signal-dependent (Poisson-like) Gaussian noise. All parameters are drawn up front and the
/// per-voxel noise comes from coordinate hashes, so slices can be processed in any order.
/// </summary>
internal sealed class PhantomArtefacts
{
    private const float TissueCurtainFactor = 0.4f;

    private readonly Shape3 _shape;
    private readonly float[] _curtain;      // per-x streak amplitude
    private readonly int[] _curtainStart;   // per-x first row of the streak
    private readonly float[] _curtainZ;     // per-z streak strength
    private readonly float[] _gain;
    private readonly float[] _offset;
    private readonly float[] _sliceChatter;
    private readonly LatticeNoise _shading;
    private readonly float _shadingAmplitude;
    private readonly bool _bandChatter;
    private readonly int _bandY0, _bandY1, _bandZ0, _bandZ1;
    private readonly float _bandPeriod, _bandAmplitude, _bandPhase;
    private readonly float _noiseBase, _noiseShot;
    private readonly ulong _noiseSeed;

    public PhantomArtefacts(ref PhantomRandom rng, Shape3 shape)
    {
        _shape = shape;
        int width = shape.X, height = shape.Y, depth = shape.Z;

        // Curtaining: streaks of random width and sign, some starting part-way down the slice (behind a feature).
        _curtain = new float[width];
        _curtainStart = new int[width];
        var strongest = new float[width];
        int streaks = Math.Max(2, (int)(width / rng.Uniform(6, 14)));
        for (int i = 0; i < streaks; i++)
        {
            double centre = rng.Uniform(0, width);
            double halfWidth = rng.Uniform(0.6, 3.5);
            float amplitude = (float)(rng.NextGaussian() * rng.Uniform(4, 12));
            int start = rng.Chance(0.6) ? rng.NextInt(0, Math.Max(1, (int)(height * 0.7))) : 0;
            for (int x = Math.Max(0, (int)(centre - halfWidth)); x <= Math.Min(width - 1, (int)(centre + halfWidth)); x++)
            {
                float u = (float)((x - centre) / halfWidth);
                float w = Math.Max(0, 1 - (u * u));
                _curtain[x] += amplitude * w * w;
                if (Math.Abs(amplitude * w) > strongest[x])
                {
                    strongest[x] = Math.Abs(amplitude * w);
                    _curtainStart[x] = start;
                }
            }
        }

        for (int x = 0; x < width; x++)
        {
            _curtain[x] += (float)(rng.NextGaussian() * 1.2); // fine column-to-column jitter
        }

        _curtainZ = SmoothSeries(ref rng, depth, rng.Uniform(15, 40), 0.8, 0.25);
        _gain = SmoothSeries(ref rng, depth, rng.Uniform(20, 50), 1, rng.Uniform(0.02, 0.06));
        _offset = SmoothSeries(ref rng, depth, rng.Uniform(20, 50), 0, rng.Uniform(3, 8));

        // Chatter: a band of rows with periodic modulation over part of the stack, and/or a few slices whose gain oscillates.
        bool slices = depth > 3 && rng.Chance(0.6);
        _bandChatter = !slices || rng.Chance(0.6);
        _bandY0 = rng.NextInt(0, height);
        _bandY1 = Math.Min(height, _bandY0 + Math.Max(2, (int)(height * rng.Uniform(0.08, 0.25))));
        _bandZ0 = rng.NextInt(0, Math.Max(1, depth / 2));
        _bandZ1 = Math.Min(depth, _bandZ0 + Math.Max(1, (int)(depth * rng.Uniform(0.3, 1))));
        _bandPeriod = (float)rng.Uniform(2.5, 6);
        _bandAmplitude = (float)rng.Uniform(5, 12);
        _bandPhase = (float)rng.NextDouble();
        _sliceChatter = new float[depth];
        if (slices)
        {
            int z0 = rng.NextInt(0, depth - 2);
            int count = rng.NextInt(3, 9);
            float amplitude = (float)rng.Uniform(0.03, 0.08);
            for (int z = z0; z < Math.Min(depth, z0 + count); z++)
            {
                _sliceChatter[z] = (z - z0) % 2 == 0 ? amplitude : -amplitude;
            }
        }

        double size = (shape.Y + shape.X) / 2.0;
        double shadingCell = Math.Max(2, size / 2);
        _shading = new LatticeNoise(shape, shadingCell, shadingCell, shadingCell, rng.NextUInt64());
        _shadingAmplitude = (float)rng.Uniform(2, 6);
        _noiseBase = (float)rng.Uniform(1.5, 3);
        _noiseShot = (float)rng.Uniform(0.2, 0.4);
        _noiseSeed = rng.NextUInt64();
    }

    /// <summary>Curtaining, chatter, drift and shading on clean slice z (before blur). Resin = truth 0 and no wall.</summary>
    public void ApplyBeforeBlur(int z, Span<float> slice, ReadOnlySpan<byte> truth, ReadOnlySpan<byte> tube, Span<float> scratch)
    {
        int width = _shape.X;
        float curtainZ = _curtainZ[z];
        float gain = _gain[z] * (1 + _sliceChatter[z]);
        float offset = _offset[z];
        bool band = _bandChatter && z >= _bandZ0 && z < _bandZ1;
        var shading = scratch[..width];
        var latticeScratch = scratch[width..];
        for (int y = 0; y < _shape.Y; y++)
        {
            var row = slice.Slice(y * width, width);
            var rowTruth = truth.Slice(y * width, width);
            var rowTube = tube.Slice(y * width, width);
            float chatter = 0;
            if (band && y >= _bandY0 && y < _bandY1)
            {
                // Taper the band's ends so it fades in and out like a real chatter zone.
                float edge = Math.Min(y - _bandY0 + 1, _bandY1 - y) / 4f;
                chatter = _bandAmplitude * PhantomMath.Wave((y / _bandPeriod) + _bandPhase) * Math.Min(1, edge);
            }

            shading.Clear();
            _shading.AddRow(z, y, _shadingAmplitude, shading, latticeScratch);
            for (int x = 0; x < width; x++)
            {
                float streak = 0;
                if (y >= _curtainStart[x])
                {
                    float fadeIn = Math.Min(1, (y - _curtainStart[x] + 1) / 8f);
                    bool resin = rowTruth[x] == 0 && rowTube[x] < 2;
                    streak = _curtain[x] * curtainZ * fadeIn * (resin ? 1 : TissueCurtainFactor);
                }

                row[x] = ((row[x] + streak + chatter + shading[x]) * gain) + offset;
            }
        }
    }

    /// <summary>Scratch length for <see cref="ApplyBeforeBlur"/>.</summary>
    public int ScratchLength => _shape.X + _shading.ScratchLength;

    /// <summary>Adds noise whose spread grows with the square root of the signal (shot noise over a read-noise floor).</summary>
    public void AddNoise(long sliceStart, Span<float> slice)
    {
        for (int i = 0; i < slice.Length; i++)
        {
            float v = slice[i];
            float sigma = _noiseBase + (_noiseShot * MathF.Sqrt(Math.Max(v, 0)));
            ulong h = PhantomRandom.Mix(_noiseSeed + ((ulong)(sliceStart + i) * 0x9E3779B97F4A7C15UL));
            slice[i] = v + (sigma * PhantomRandom.Gaussian(h));
        }
    }

    /// <summary>A smooth random series around <paramref name="mean"/>: knots every <paramref name="period"/> samples, smoothstep between.</summary>
    private static float[] SmoothSeries(ref PhantomRandom rng, int length, double period, double mean, double amplitude)
    {
        int knots = (int)(length / period) + 2;
        var values = new double[knots];
        for (int i = 0; i < knots; i++)
        {
            values[i] = (rng.NextDouble() * 2) - 1;
        }

        var series = new float[length];
        for (int z = 0; z < length; z++)
        {
            double f = z / period;
            int k = (int)f;
            float w = PhantomMath.SmoothStep((float)(f - k));
            series[z] = (float)(mean + (amplitude * PhantomMath.Lerp((float)values[k], (float)values[k + 1], w)));
        }

        return series;
    }
}
