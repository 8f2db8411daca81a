namespace EmMask.Core.Phantom;

/// <summary>
/// SplitMix64: a tiny PRNG whose output is fixed by its seed on every platform (System.Random is not guaranteed to
/// be), plus counter-based hashes so parallel work can draw numbers from coordinates instead of a shared stream.
/// </summary>
internal struct PhantomRandom
{
    private const ulong Golden = 0x9E3779B97F4A7C15UL;
    private ulong _state;

    public PhantomRandom(ulong seed) => _state = seed;

    public ulong NextUInt64() => Mix(_state += Golden);

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public double Uniform(double lo, double hi) => lo + ((hi - lo) * NextDouble());

    /// <summary>Uniform integer in [lo, hiExclusive).</summary>
    public int NextInt(int lo, int hiExclusive) => lo + (int)(NextDouble() * (hiExclusive - lo));

    public bool Chance(double p) => NextDouble() < p;

    /// <summary>Approximately standard normal (Irwin–Hall of 12 uniforms): no libm calls, so bit-identical everywhere.</summary>
    public double NextGaussian()
    {
        double s = 0;
        for (int i = 0; i < 12; i++)
        {
            s += NextDouble();
        }

        return s - 6;
    }

    /// <summary>An independent generator for a named sub-task, so adding draws in one place does not shift another.</summary>
    public static PhantomRandom Fork(int seed, ulong stream) => new(Hash((ulong)(uint)seed, (long)stream, 0, 0));

    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A 64-bit hash of a seed and three integer coordinates.</summary>
    public static ulong Hash(ulong seed, long a, long b, long c)
    {
        ulong h = Mix(seed + ((ulong)a * Golden));
        h = Mix(h + ((ulong)b * 0xD1B54A32D192ED03UL));
        return Mix(h + ((ulong)c * 0xAEF17502108EF2D9UL));
    }

    /// <summary>Uniform float in [0, 1) from 24 bits of <paramref name="h"/> starting at bit <paramref name="shift"/>.</summary>
    public static float Unit(ulong h, int shift = 40) => (int)((h >> shift) & 0xFFFFFF) * (1f / 16777216f);

    /// <summary>Approximately standard normal from the four 16-bit quarters of one hash (Irwin–Hall of 4).</summary>
    public static float Gaussian(ulong h)
    {
        const float scale = 1f / 65536f;
        float s = (int)((h & 0xFFFF) + ((h >> 16) & 0xFFFF) + ((h >> 32) & 0xFFFF) + (h >> 48)) * scale;
        return (s - 2f) * 1.7320508f;
    }
}
