using EmMask.Core.Volumes;
using EmMask.IO.Formats;

namespace EmMask.Core.Tests.Morphology;

/// <summary>Golden volumes from tests/fixtures/make_morphology_golden.py, plus brute-force references for tiny volumes.</summary>
internal static class MaskFixtures
{
    public static Volume<T> Load<T>(string name)
        where T : unmanaged
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Morphology", name + ".npy");
        return Assert.IsType<Volume<T>>(NpyFormat.Read(path));
    }

    public static Volume<byte> RandomMask(Shape3 shape, double density, int seed, VoxelSize? voxelSize = null)
    {
        var rng = new Random(seed);
        var mask = new Volume<byte>(shape, voxelSize);
        var span = mask.Span;
        for (int i = 0; i < span.Length; i++)
        {
            span[i] = (byte)(rng.NextDouble() < density ? 1 : 0);
        }

        return mask;
    }

    public static Volume<byte> Sphere(Shape3 shape, double cz, double cy, double cx, double radius)
    {
        var mask = new Volume<byte>(shape);
        for (int z = 0; z < shape.Z; z++)
        {
            for (int y = 0; y < shape.Y; y++)
            {
                for (int x = 0; x < shape.X; x++)
                {
                    double d2 = ((z - cz) * (z - cz)) + ((y - cy) * (y - cy)) + ((x - cx) * (x - cx));
                    mask[z, y, x] = (byte)(d2 <= radius * radius ? 1 : 0);
                }
            }
        }

        return mask;
    }

    /// <summary>O(n²) squared distance from each voxel to the nearest voxel whose value is nonzero == <paramref name="toNonzero"/>.</summary>
    public static double[] BruteSquaredDistance(Volume<byte> mask, VoxelSize s, bool toNonzero, bool planar)
    {
        var shape = mask.Shape;
        var result = new double[shape.Length];
        for (int z = 0; z < shape.Z; z++)
        {
            for (int y = 0; y < shape.Y; y++)
            {
                for (int x = 0; x < shape.X; x++)
                {
                    double best = double.PositiveInfinity;
                    for (int z2 = planar ? z : 0; z2 < (planar ? z + 1 : shape.Z); z2++)
                    {
                        for (int y2 = 0; y2 < shape.Y; y2++)
                        {
                            for (int x2 = 0; x2 < shape.X; x2++)
                            {
                                if ((mask[z2, y2, x2] != 0) != toNonzero)
                                {
                                    continue;
                                }

                                double dz = (z - z2) * s.Z, dy = (y - y2) * s.Y, dx = (x - x2) * s.X;
                                best = Math.Min(best, (dz * dz) + (dy * dy) + (dx * dx));
                            }
                        }
                    }

                    result[shape.Index(z, y, x)] = best;
                }
            }
        }

        return result;
    }

    public static void EqualMasks(Volume<byte> expected, Volume<byte> actual)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var e = expected.Span;
        var a = actual.Span;
        int diff = 0;
        int first = -1;
        for (int i = 0; i < e.Length; i++)
        {
            if ((e[i] != 0) != (a[i] != 0))
            {
                diff++;
                first = first < 0 ? i : first;
            }
        }

        Assert.True(diff == 0, $"{diff} voxels differ, first at linear index {first}.");
    }

    public static long Count(Volume<byte> mask)
    {
        long n = 0;
        foreach (byte b in mask.Span)
        {
            n += b != 0 ? 1 : 0;
        }

        return n;
    }

    /// <summary>True when every nonzero voxel of <paramref name="inner"/> is nonzero in <paramref name="outer"/>.</summary>
    public static bool IsSubset(Volume<byte> inner, Volume<byte> outer)
    {
        var a = inner.Span;
        var b = outer.Span;
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] != 0 && b[i] == 0)
            {
                return false;
            }
        }

        return true;
    }
}
