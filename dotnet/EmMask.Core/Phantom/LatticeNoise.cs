using EmMask.Core.Volumes;

namespace EmMask.Core.Phantom;

/// <summary>
/// Value noise in [−1, 1]: hashed random values on a coarse lattice, smoothly interpolated. The lattice is built once
/// for the whole volume from coordinate hashes, so any slice can be sampled by any thread with the same result.
/// </summary>
internal sealed class LatticeNoise
{
    private readonly float[] _grid;
    private readonly int _gy;
    private readonly int _gx;
    private readonly float _invZ;
    private readonly float _invY;
    private readonly float _invX;

    /// <param name="shape">Volume to cover.</param>
    /// <param name="cellZ">Lattice spacing along z in voxels (at least 1).</param>
    /// <param name="cellY">Lattice spacing along y in voxels.</param>
    /// <param name="cellX">Lattice spacing along x in voxels.</param>
    /// <param name="seed">Hash seed.</param>
    public LatticeNoise(Shape3 shape, double cellZ, double cellY, double cellX, ulong seed)
    {
        cellZ = Math.Max(cellZ, 1);
        cellY = Math.Max(cellY, 1);
        cellX = Math.Max(cellX, 1);
        _invZ = (float)(1 / cellZ);
        _invY = (float)(1 / cellY);
        _invX = (float)(1 / cellX);
        int gz = (int)((shape.Z - 1) * _invZ) + 3;
        _gy = (int)((shape.Y - 1) * _invY) + 3;
        _gx = (int)((shape.X - 1) * _invX) + 3;
        _grid = new float[(long)gz * _gy * _gx];
        var grid = _grid;
        int gy = _gy, gx = _gx;
        Parallel.For(0, gz, k =>
        {
            for (int j = 0; j < gy; j++)
            {
                int row = ((k * gy) + j) * gx;
                for (int i = 0; i < gx; i++)
                {
                    grid[row + i] = (PhantomRandom.Unit(PhantomRandom.Hash(seed, k, j, i)) * 2) - 1;
                }
            }
        });
    }

    /// <summary>Number of lattice columns along x: the scratch length <see cref="AddRow"/> needs.</summary>
    public int ScratchLength => _gx;

    /// <summary>Adds <paramref name="amplitude"/> × noise of row (z, y) to <paramref name="dest"/> (length X).</summary>
    public void AddRow(int z, int y, float amplitude, Span<float> dest, Span<float> scratch)
    {
        float fz = z * _invZ, fy = y * _invY;
        int k = (int)fz, j = (int)fy;
        float wz = PhantomMath.SmoothStep(fz - k), wy = PhantomMath.SmoothStep(fy - j);
        var g = _grid.AsSpan();
        int r00 = ((k * _gy) + j) * _gx, r01 = r00 + _gx, r10 = r00 + (_gy * _gx), r11 = r10 + _gx;
        var line = scratch[.._gx];
        for (int i = 0; i < _gx; i++)
        {
            float a = PhantomMath.Lerp(g[r00 + i], g[r01 + i], wy);
            float b = PhantomMath.Lerp(g[r10 + i], g[r11 + i], wy);
            line[i] = PhantomMath.Lerp(a, b, wz) * amplitude;
        }

        for (int x = 0; x < dest.Length; x++)
        {
            float fx = x * _invX;
            int i = (int)fx;
            dest[x] += PhantomMath.Lerp(line[i], line[i + 1], PhantomMath.SmoothStep(fx - i));
        }
    }

    /// <summary>Noise at one voxel.</summary>
    public float Sample(int z, int y, int x)
    {
        float fz = z * _invZ, fy = y * _invY, fx = x * _invX;
        int k = (int)fz, j = (int)fy, i = (int)fx;
        float wz = PhantomMath.SmoothStep(fz - k), wy = PhantomMath.SmoothStep(fy - j), wx = PhantomMath.SmoothStep(fx - i);
        int r00 = (((k * _gy) + j) * _gx) + i, r01 = r00 + _gx, r10 = r00 + (_gy * _gx), r11 = r10 + _gx;
        var g = _grid;
        float a = PhantomMath.Lerp(PhantomMath.Lerp(g[r00], g[r00 + 1], wx), PhantomMath.Lerp(g[r01], g[r01 + 1], wx), wy);
        float b = PhantomMath.Lerp(PhantomMath.Lerp(g[r10], g[r10 + 1], wx), PhantomMath.Lerp(g[r11], g[r11 + 1], wx), wy);
        return PhantomMath.Lerp(a, b, wz);
    }
}
