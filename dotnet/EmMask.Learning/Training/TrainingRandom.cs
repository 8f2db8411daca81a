namespace EmMask.Learning.Training;

/// <summary>
/// xoshiro256** generator with a serialisable state, so a resumed run continues the exact
/// random sequence (System.Random's state cannot be saved). Not cryptographic.
/// </summary>
internal sealed class TrainingRandom
{
    private ulong s0, s1, s2, s3;

    public TrainingRandom(long seed)
    {
        // SplitMix64 expands the seed into a well-mixed non-zero state.
        ulong x = (ulong)seed;
        s0 = SplitMix(ref x); s1 = SplitMix(ref x); s2 = SplitMix(ref x); s3 = SplitMix(ref x);
    }

    public ulong[] State
    {
        get => [s0, s1, s2, s3];
        set
        {
            if (value is not { Length: 4 } || value.All(v => v == 0)) throw new ArgumentException("invalid RNG state", nameof(value));
            (s0, s1, s2, s3) = (value[0], value[1], value[2], value[3]);
        }
    }

    public ulong NextUInt64()
    {
        ulong result = RotL(s1 * 5, 7) * 9;
        ulong t = s1 << 17;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = RotL(s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, maxExclusive).</summary>
    public int Next(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxExclusive, 1, nameof(maxExclusive));
        return (int)((NextUInt64() >> 33) * (ulong)maxExclusive >> 31);
    }

    public double Uniform(double lo, double hi) => lo + (hi - lo) * NextDouble();

    public bool Chance(double p) => NextDouble() < p;

    /// <summary>Standard normal via Box–Muller (one value per call, deterministic).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble(), u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private static ulong RotL(ulong x, int k) => (x << k) | (x >> (64 - k));

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
