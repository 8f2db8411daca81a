using System.Runtime.CompilerServices;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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
    public int RowCacheLength => (_nx * Neighbours) + Padding;

    private const int Padding = 4; // the last query reads one vector lane past the 27 candidates

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

        for (int o = _nx * Neighbours; o < d2yz.Length; o++)
        {
            d2yz[o] = float.PositiveInfinity;
            seedX[o] = 0;
            ids[o] = 0;
        }
    }

    /// <summary>Nearest and second-nearest seed distances and the nearest cell's id, for voxel x of a prepared row.</summary>
    public CellHit Query(int x, ReadOnlySpan<float> d2yz, ReadOnlySpan<float> seedX, ReadOnlySpan<uint> ids)
    {
        float px = x * _scaleX;
        int start = (int)(px * _invSpacing) * Neighbours;
        if (start < 0 || start + (Lanes * 4) > d2yz.Length || d2yz.Length > seedX.Length || d2yz.Length > ids.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(x), x, "Voxel outside the prepared row.");
        }

        // The 27 candidates (3 x-columns of 9 yz neighbours) are contiguous; 7 vectors of 4 cover them plus one
        // harmless extra (a farther seed, or the +∞ pad). Min and the arithmetic are exact per lane, so the result
        // does not depend on the vector width. MinNative is safe: no NaN or −0 can occur (squared sums).
        ref float d = ref Unsafe.Add(ref MemoryMarshal.GetReference(d2yz), start);
        ref float sx = ref Unsafe.Add(ref MemoryMarshal.GetReference(seedX), start);
        var vpx = Vector128.Create(px);
        var v0 = Distance(vpx, ref d, ref sx, 0);
        var v1 = Distance(vpx, ref d, ref sx, 4);
        var v2 = Distance(vpx, ref d, ref sx, 8);
        var v3 = Distance(vpx, ref d, ref sx, 12);
        var v4 = Distance(vpx, ref d, ref sx, 16);
        var v5 = Distance(vpx, ref d, ref sx, 20);
        var v6 = Distance(vpx, ref d, ref sx, 24);
        var m = Vector128.MinNative(Vector128.MinNative(Vector128.MinNative(v0, v1), Vector128.MinNative(v2, v3)), Vector128.MinNative(Vector128.MinNative(v4, v5), v6));
        float best = HorizontalMin(m);
        var vb = Vector128.Create(best);
        var inf = Vector128.Create(float.PositiveInfinity);

        int at = FirstEqual(v0, vb, 0, FirstEqual(v1, vb, 4, FirstEqual(v2, vb, 8, FirstEqual(v3, vb, 12,
            FirstEqual(v4, vb, 16, FirstEqual(v5, vb, 20, FirstEqual(v6, vb, 24, 0)))))));

        // Second nearest: the minimum once the winning distance is masked out.
        var e = Vector128.MinNative(
            Vector128.MinNative(
                Vector128.MinNative(Vector128.ConditionalSelect(Vector128.Equals(v0, vb), inf, v0), Vector128.ConditionalSelect(Vector128.Equals(v1, vb), inf, v1)),
                Vector128.MinNative(Vector128.ConditionalSelect(Vector128.Equals(v2, vb), inf, v2), Vector128.ConditionalSelect(Vector128.Equals(v3, vb), inf, v3))),
            Vector128.MinNative(
                Vector128.MinNative(Vector128.ConditionalSelect(Vector128.Equals(v4, vb), inf, v4), Vector128.ConditionalSelect(Vector128.Equals(v5, vb), inf, v5)),
                Vector128.ConditionalSelect(Vector128.Equals(v6, vb), inf, v6)));
        float second = HorizontalMin(e);
        return new CellHit(MathF.Sqrt(best), MathF.Sqrt(second), ids[start + at]);
    }

    private const int Lanes = 7; // vectors of 4 per query

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Distance(Vector128<float> px, ref float d, ref float sx, int o)
    {
        var ex = px - Vector128.LoadUnsafe(ref sx, (nuint)o);
        return Vector128.LoadUnsafe(ref d, (nuint)o) + (ex * ex);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalMin(Vector128<float> v)
    {
        float a = v.GetElement(0), b = v.GetElement(1), c = v.GetElement(2), e = v.GetElement(3);
        float ab = a < b ? a : b, ce = c < e ? c : e;
        return ab < ce ? ab : ce;
    }

    /// <summary>Index of the first lane equal to <paramref name="target"/> at or after <paramref name="offset"/>, else <paramref name="fallback"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int FirstEqual(Vector128<float> v, Vector128<float> target, int offset, int fallback)
    {
        uint bits = Vector128.Equals(v, target).ExtractMostSignificantBits();
        return bits != 0 ? offset + BitOperations.TrailingZeroCount(bits) : fallback;
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
