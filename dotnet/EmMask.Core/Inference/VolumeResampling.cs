using EmMask.Core.Volumes;

namespace EmMask.Core.Inference;

/// <summary>
/// Integer-factor resampling for the working scale: area (mean) and max downsampling, and trilinear upsampling
/// back onto the original grid with half-voxel alignment (PyTorch <c>align_corners=False</c>).
/// </summary>
internal static class VolumeResampling
{
    /// <summary>The downsampled shape: ceil(n / factor) per axis, so edge voxels are never dropped.</summary>
    public static Shape3 DownsampledShape(Shape3 shape, int factor) =>
        new(CeilDiv(shape.Z, factor), CeilDiv(shape.Y, factor), CeilDiv(shape.X, factor));

    /// <summary>Mean over each factor³ block (partial blocks at the far edges average the voxels they hold).</summary>
    public static Volume<float> MeanDownsample(Volume<float> input, int factor) => Downsample(input, factor, useMax: false);

    /// <summary>Maximum over each factor³ block; conservative for skip scores (a block is resin only if all of it is).</summary>
    public static Volume<float> MaxDownsample(Volume<float> input, int factor) => Downsample(input, factor, useMax: true);

    /// <summary>Trilinear interpolation of <paramref name="small"/> onto <paramref name="output"/>'s grid, factor apart.</summary>
    public static Volume<float> TrilinearUpsample(Volume<float> small, Volume<float> output, int factor) =>
        TrilinearUpsample(small, output, factor, (0, 0, 0));

    /// <summary>
    /// The part of the trilinear upsampling of <paramref name="small"/> (a whole volume's coarse grid) that starts at
    /// <paramref name="origin"/> of the fine grid and has <paramref name="output"/>'s shape: the same values the whole
    /// upsampling gives there (a block of a volume processed block by block).
    /// </summary>
    public static Volume<float> TrilinearUpsample(Volume<float> small, Volume<float> output, int factor, (int Z, int Y, int X) origin)
    {
        ArgumentNullException.ThrowIfNull(small);
        ArgumentNullException.ThrowIfNull(output);
        var o = output.Memory;
        int width = output.Shape.X, height = output.Shape.Y;
        UpsampleRows(small, output.Shape, factor, origin, (z, y, row) => row.CopyTo(o.Span.Slice(((z * height) + y) * width, width)));
        return output;
    }

    /// <summary>
    /// Where the trilinear upsampling (<see cref="TrilinearUpsample(Volume{float}, Volume{float}, int, ValueTuple{int, int, int})"/>)
    /// of <paramref name="small"/> is at least <paramref name="threshold"/>: 1 there, else 0, in <paramref name="output"/>,
    /// without the float volume (the same values, compared row by row).
    /// </summary>
    public static Volume<byte> TrilinearAtLeast(Volume<float> small, Volume<byte> output, int factor, (int Z, int Y, int X) origin, float threshold)
    {
        ArgumentNullException.ThrowIfNull(small);
        ArgumentNullException.ThrowIfNull(output);
        var o = output.Memory;
        int width = output.Shape.X, height = output.Shape.Y;
        UpsampleRows(small, output.Shape, factor, origin, (z, y, row) =>
        {
            var target = o.Span.Slice(((z * height) + y) * width, width);
            for (int x = 0; x < row.Length; x++)
            {
                target[x] = row[x] >= threshold ? (byte)1 : (byte)0;
            }
        });
        return output;
    }

    private delegate void RowSink(int z, int y, ReadOnlySpan<float> row);

    // The trilinear upsampling, one fine row at a time.
    private static void UpsampleRows(Volume<float> small, Shape3 target, int factor, (int Z, int Y, int X) origin, RowSink sink)
    {
        var (z0, z1, zt) = Taps(small.Shape.Z, factor, origin.Z, target.Z);
        var (y0, y1, yt) = Taps(small.Shape.Y, factor, origin.Y, target.Y);
        var (x0, x1, xt) = Taps(small.Shape.X, factor, origin.X, target.X);
        ReadOnlySpan<float> s = small.Span;
        int sy = small.Shape.X, sz = small.Shape.Y * small.Shape.X;
        var row = new float[target.X];
        for (int z = 0; z < target.Z; z++)
        {
            for (int y = 0; y < target.Y; y++)
            {
                int r00 = z0[z] * sz + y0[y] * sy, r01 = z0[z] * sz + y1[y] * sy;
                int r10 = z1[z] * sz + y0[y] * sy, r11 = z1[z] * sz + y1[y] * sy;
                float wz = zt[z], wy = yt[y];
                for (int x = 0; x < target.X; x++)
                {
                    float wx = xt[x];
                    int a = x0[x], b = x1[x];
                    float c00 = s[r00 + a] + ((s[r00 + b] - s[r00 + a]) * wx);
                    float c01 = s[r01 + a] + ((s[r01 + b] - s[r01 + a]) * wx);
                    float c10 = s[r10 + a] + ((s[r10 + b] - s[r10 + a]) * wx);
                    float c11 = s[r11 + a] + ((s[r11 + b] - s[r11 + a]) * wx);
                    float c0 = c00 + ((c01 - c00) * wy);
                    float c1 = c10 + ((c11 - c10) * wy);
                    row[x] = c0 + ((c1 - c0) * wz);
                }

                sink(z, y, row);
            }
        }
    }

    private static (int[] Lo, int[] Hi, float[] T) Taps(int smallLength, int factor, int start, int count)
    {
        var lo = new int[count];
        var hi = new int[count];
        var t = new float[count];
        for (int k = 0; k < count; k++)
        {
            int i = start + k;
            // Voxel centres: target i sits at (i + 0.5) / f − 0.5 in small-grid units; clamp at the borders.
            double src = Math.Clamp(((i + 0.5) / factor) - 0.5, 0, smallLength - 1);
            int l = (int)Math.Floor(src);
            lo[k] = l;
            hi[k] = Math.Min(l + 1, smallLength - 1);
            t[k] = (float)(src - l);
        }

        return (lo, hi, t);
    }

    private static Volume<float> Downsample(Volume<float> input, int factor, bool useMax)
    {
        Shape3 shape = input.Shape;
        Shape3 outShape = DownsampledShape(shape, factor);
        var output = new Volume<float>(outShape, input.VoxelSize);
        ReadOnlySpan<float> src = input.Span;
        Span<float> dst = output.Span;
        for (int oz = 0; oz < outShape.Z; oz++)
        {
            int zEnd = Math.Min((oz + 1) * factor, shape.Z);
            for (int oy = 0; oy < outShape.Y; oy++)
            {
                int yEnd = Math.Min((oy + 1) * factor, shape.Y);
                for (int ox = 0; ox < outShape.X; ox++)
                {
                    int xStart = ox * factor, xEnd = Math.Min(xStart + factor, shape.X);
                    double sum = 0;
                    float max = float.NegativeInfinity;
                    int count = 0;
                    for (int z = oz * factor; z < zEnd; z++)
                    {
                        for (int y = oy * factor; y < yEnd; y++)
                        {
                            ReadOnlySpan<float> row = src.Slice((int)shape.Index(z, y, xStart), xEnd - xStart);
                            foreach (float v in row)
                            {
                                sum += v;
                                max = Math.Max(max, v);
                            }

                            count += row.Length;
                        }
                    }

                    dst[(int)outShape.Index(oz, oy, ox)] = useMax ? max : (float)(sum / count);
                }
            }
        }

        return output;
    }

    private static int CeilDiv(int a, int b) => (a + b - 1) / b;
}
