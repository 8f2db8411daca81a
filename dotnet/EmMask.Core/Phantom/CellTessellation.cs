using EmMask.Core.Volumes;

namespace EmMask.Core.Phantom;

/// <summary>
/// A jittered-grid Voronoi tessellation: one seed point per grid cell. Voxels close to the bisector of their two
/// nearest seeds lie on a cell membrane. Seeds come from coordinate hashes, so the result is partition-independent.
/// Coordinates are in "reference voxels" (16 nm), so cells keep their physical size when the voxel size changes.
/// </summary>
internal sealed class CellTessellation
{
    private const int Neighbours = 9; // (dz, dy) in {-1, 0, 1}²

    private readonly float[] _seedZ;
    private readonly float[] _seedY;
    private readonly float[] _seedX;
    private readonly uint[] _id;
    private readonly int _ny;
    private readonly int _nx;
    private readonly float _invSpacing;
    private readonly float _scaleZ;
    private readonly float _scaleY;
    private readonly float _scaleX;

    /// <param name="shape">Volume to cover.</param>
    /// <param name="scaleZ">Reference units per voxel along z.</param>
    /// <param name="scaleY">Reference units per voxel along y.</param>
    /// <param name="scaleX">Reference units per voxel along x.</param>
    /// <param name="spacing">Mean cell diameter in reference units.</param>
    /// <param name="jitter">0 = regular grid, 1 = seed anywhere in its grid cell.</param>
    /// <param name="seed">Hash seed.</param>
    public CellTessellation(Shape3 shape, float scaleZ, float scaleY, float scaleX, float spacing, float jitter, ulong seed)
    {
        Spacing = spacing;
        _invSpacing = 1 / spacing;
        _scaleZ = scaleZ;
        _scaleY = scaleY;
        _scaleX = scaleX;
        int nz = (int)((shape.Z - 1) * scaleZ * _invSpacing) + 3;
        _ny = (int)((shape.Y - 1) * scaleY * _invSpacing) + 3;
        _nx = (int)((shape.X - 1) * scaleX * _invSpacing) + 3;
        long n = (long)nz * _ny * _nx;
        _seedZ = new float[n];
        _seedY = new float[n];
        _seedX = new float[n];
        _id = new uint[n];
        int ny = _ny, nx = _nx;
        float lo = 0.5f - (jitter / 2);
        Parallel.For(0, nz, k =>
        {
            for (int j = 0; j < ny; j++)
            {
                for (int i = 0; i < nx; i++)
                {
                    // Stored index 0 is grid cell −1, so a voxel's three neighbour cells are always in range.
                    long c = (((long)k * ny) + j) * nx + i;
                    ulong h = PhantomRandom.Hash(seed, k, j, i);
                    _seedZ[c] = (k - 1 + lo + (jitter * PhantomRandom.Unit(h, 0))) * spacing;
                    _seedY[c] = (j - 1 + lo + (jitter * PhantomRandom.Unit(h, 20))) * spacing;
                    _seedX[c] = (i - 1 + lo + (jitter * PhantomRandom.Unit(h, 40))) * spacing;
                    _id[c] = (uint)PhantomRandom.Mix(h);
                }
            }
        });
    }

    /// <summary>Mean cell diameter in reference units.</summary>
    public float Spacing { get; }

    /// <summary>Length of the per-row cache <see cref="PrepareRow"/> fills.</summary>
    public int RowCacheLength => _nx * Neighbours;

    /// <summary>Caches, for row (z, y), each candidate seed's squared yz distance, x position and id.</summary>
    public void PrepareRow(int z, int y, Span<float> d2yz, Span<float> seedX, Span<uint> ids)
    {
        float pz = z * _scaleZ, py = y * _scaleY;
        int cz = (int)(pz * _invSpacing), cy = (int)(py * _invSpacing);
        for (int i = 0; i < _nx; i++)
        {
            int o = i * Neighbours;
            for (int dz = 0; dz < 3; dz++)
            {
                for (int dy = 0; dy < 3; dy++)
                {
                    long c = ((((long)(cz + dz) * _ny) + cy + dy) * _nx) + i;
                    float ez = pz - _seedZ[c], ey = py - _seedY[c];
                    d2yz[o] = (ez * ez) + (ey * ey);
                    seedX[o] = _seedX[c];
                    ids[o] = _id[c];
                    o++;
                }
            }
        }
    }

    /// <summary>Nearest and second-nearest seed distances and the nearest cell's id, for voxel x of a prepared row.</summary>
    public CellHit Query(int x, ReadOnlySpan<float> d2yz, ReadOnlySpan<float> seedX, ReadOnlySpan<uint> ids)
    {
        float px = x * _scaleX;
        int start = (int)(px * _invSpacing) * Neighbours;
        float best = float.MaxValue, second = float.MaxValue;
        int bestAt = start;
        for (int o = start; o < start + (3 * Neighbours); o++)
        {
            float ex = px - seedX[o];
            float d2 = d2yz[o] + (ex * ex);
            if (d2 < best)
            {
                second = best;
                best = d2;
                bestAt = o;
            }
            else if (d2 < second)
            {
                second = d2;
            }
        }

        return new CellHit(MathF.Sqrt(best), MathF.Sqrt(second), ids[bestAt]);
    }
}

/// <summary>Result of a tessellation query.</summary>
/// <param name="Nearest">Distance to the own cell's seed (reference units).</param>
/// <param name="Second">Distance to the nearest other seed.</param>
/// <param name="Id">Hash id of the own cell, for per-cell properties.</param>
internal readonly record struct CellHit(float Nearest, float Second, uint Id)
{
    /// <summary>Approximate distance to the membrane (half the difference of the two seed distances).</summary>
    public float MembraneDistance => (Second - Nearest) * 0.5f;
}
