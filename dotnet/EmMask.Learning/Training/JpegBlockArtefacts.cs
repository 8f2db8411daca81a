using EmMask.Core.Volumes;

namespace EmMask.Learning.Training;

/// <summary>
/// JPEG's lossy step on each section of a patch: 8×8 blocks (grid phase given), DCT-II, division by the JPEG luminance
/// quantisation table scaled for a quality (IJG's formula), rounding, and back. Intensities are taken as 0–1 mapped to
/// 0–255, as an 8-bit export of the normalised image would be; values outside 0–1 pass through the same arithmetic
/// (no clipping), so the augmentation never changes the intensity range. Partial blocks at the edges are transformed
/// with their voxels mirrored into the block, as an encoder pads them.
/// </summary>
internal static class JpegBlockArtefacts
{
    private static readonly int[] Luminance =
    [
        16, 11, 10, 16, 24, 40, 51, 61,
        12, 12, 14, 19, 26, 58, 60, 55,
        14, 13, 16, 24, 40, 57, 69, 56,
        14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77,
        24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101,
        72, 92, 95, 98, 112, 100, 103, 99,
    ];

    // cos((2x + 1) u π / 16) · c(u), with c(0) = √(1/8) and c(u > 0) = √(2/8): the orthonormal 8-point DCT-II.
    private static readonly double[] Basis = BuildBasis();

    /// <summary>The quantisation table for <paramref name="quality"/> (1–100), as libjpeg scales it.</summary>
    public static double[] Table(int quality)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(quality, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quality, 100);
        int scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
        return Luminance.Select(q => (double)Math.Clamp((q * scale + 50) / 100, 1, 255)).ToArray();
    }

    /// <summary>Applies the block quantisation to every section of <paramref name="image"/>.</summary>
    public static void Apply(Span<float> image, Shape3 patch, int quality, int phaseY, int phaseX)
    {
        var table = Table(quality);
        Span<double> block = stackalloc double[64];
        Span<double> coefficients = stackalloc double[64];
        int Y = patch.Y, X = patch.X, plane = Y * X;
        int y0 = -((8 - phaseY % 8) % 8), x0 = -((8 - phaseX % 8) % 8);
        for (int z = 0; z < patch.Z; z++)
        {
            var section = image.Slice(z * plane, plane);
            for (int by = y0; by < Y; by += 8)
                for (int bx = x0; bx < X; bx += 8)
                {
                    for (int v = 0; v < 8; v++)
                        for (int u = 0; u < 8; u++)
                            block[v * 8 + u] = 255.0 * section[Mirror(by + v, Y) * X + Mirror(bx + u, X)] - 128.0;
                    Transform(block, coefficients, forward: true);
                    for (int i = 0; i < 64; i++) coefficients[i] = Math.Round(coefficients[i] / table[i]) * table[i];
                    Transform(coefficients, block, forward: false);
                    for (int v = 0; v < 8; v++)
                    {
                        int y = by + v;
                        if ((uint)y >= (uint)Y) continue;
                        for (int u = 0; u < 8; u++)
                        {
                            int x = bx + u;
                            if ((uint)x < (uint)X) section[y * X + x] = (float)((block[v * 8 + u] + 128.0) / 255.0);
                        }
                    }
                }
        }
    }

    // Separable 8×8 DCT-II (forward) or DCT-III (inverse), both orthonormal.
    private static void Transform(ReadOnlySpan<double> input, Span<double> output, bool forward)
    {
        Span<double> rows = stackalloc double[64];
        for (int r = 0; r < 8; r++)
            for (int k = 0; k < 8; k++)
            {
                double acc = 0;
                for (int n = 0; n < 8; n++) acc += input[r * 8 + n] * (forward ? Basis[k * 8 + n] : Basis[n * 8 + k]);
                rows[r * 8 + k] = acc;
            }
        for (int c = 0; c < 8; c++)
            for (int k = 0; k < 8; k++)
            {
                double acc = 0;
                for (int n = 0; n < 8; n++) acc += rows[n * 8 + c] * (forward ? Basis[k * 8 + n] : Basis[n * 8 + k]);
                output[k * 8 + c] = acc;
            }
    }

    private static double[] BuildBasis()
    {
        var b = new double[64];
        for (int k = 0; k < 8; k++)
            for (int n = 0; n < 8; n++)
                b[k * 8 + n] = (k == 0 ? Math.Sqrt(1.0 / 8) : Math.Sqrt(2.0 / 8)) * Math.Cos((2 * n + 1) * k * Math.PI / 16);
        return b;
    }

    private static int Mirror(int i, int n)
    {
        if (n == 1) return 0;
        while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - i - 1;
        return i;
    }
}
