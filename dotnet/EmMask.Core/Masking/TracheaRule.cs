using System.Buffers;
using EmMask.Core.Filters;
using EmMask.Core.Morphology;
using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// Tracheae are not tissue although their cuticle is stained: a stained wall around an unstained, untextured lumen.
/// <see cref="StainRule"/> keeps stained flat material as tissue (a dense surface layer, a lamina); this rule finds the
/// stained material that closes around a resin-like lumen and takes it out again, with the lumen.
/// </summary>
/// <remarks>
/// At the working level, with the stain score z of <see cref="StainRule"/>: a voxel is <em>stained</em> where z &gt; k.
/// An unstained voxel is <em>enclosed</em> along an axis when it lies in a run of at most <c>gap</c> unstained voxels
/// (<see cref="ClassicalMaskOptions.TracheaGap"/> brought to the working level, <see cref="GapAtLevel"/>)
/// with a stained voxel at each end (the volume's border does not close a run). A <em>lumen</em> voxel is enclosed along
/// two axes (of three; of the two in-plane axes for a single section), votes resin by texture (vote &lt; 0.5), so the
/// textured cytoplasm between two mitochondria is not one, and has a stain nearer the resin's than the tissue's
/// (z &lt; −½·|m_r − m_t|/σ_t), so weakly textured tissue between dark membranes is not one either (without it a faint
/// section lost all its tissue). Its vote becomes 0. The <em>wall</em> is every stained voxel
/// within <c>gap</c> voxels (per axis) of a lumen voxel: its vote is scaled by sigmoid((k − z)/0.25), so a ringed
/// cuticle, textured in every orientation, no longer counts as tissue. Stained material away from any lumen (an edge
/// layer with tissue on one side and open resin on the other) keeps the stain rule's vote. Everything depends only on
/// voxels within 2·gap + 1 (<see cref="Reach"/>), which the block halo adds.
/// </remarks>
internal static class TracheaRule
{
    private const byte StainedFlag = 0x80;

    /// <summary>The gap in voxels of the working level for a gap of <paramref name="gap"/> full-resolution voxels: ⌈gap / 2^level⌉ (0 stays 0).</summary>
    public static int GapAtLevel(int gap, int level) => gap <= 0 ? 0 : (gap + (1 << level) - 1) >> level;

    /// <summary>How far (voxels of the working level) a vote can depend on stain through this rule: a lumen up to gap + 1, its wall gap further.</summary>
    public static int Reach(int gap) => (2 * gap) + 1;

    /// <summary>
    /// Applies the rule to the texture votes (before the stain rule raises them); returns the wall flags (1 = wall) the
    /// stain rule must then leave alone, or null when no lumen was found.
    /// </summary>
    public static Volume<byte>? Apply(Volume<float> vote, ReadOnlyMemory<float> smoothed, StainRule.Reference reference, double threshold, int gap, bool planar, CancellationToken ct)
    {
        var shape = vote.Shape;
        int n = vote.Span.Length;
        float scale = reference.Scale; // z = scale·(s − m_t)
        float mt = reference.TissueMedian;
        float k = (float)threshold;
        float resinSide = -0.5f * Math.Abs(scale * (reference.ResinMedian - mt)); // z halfway to resin
        var flags = new byte[n];
        ParallelChunks.For(n, (start, count) =>
        {
            var source = smoothed.Span;
            for (int i = start; i < start + count; i++)
            {
                flags[i] = scale * (source[i] - mt) > k ? StainedFlag : (byte)0;
            }
        }, ct);

        CountEnclosures(shape, flags, gap, planar, ct);
        var lumen = new Volume<byte>(shape);
        var votes = vote.Memory;
        var lumenMemory = lumen.Memory;
        int found = 0;
        ParallelChunks.For(n, (start, count) =>
        {
            var source = smoothed.Span;
            var v = votes.Span;
            var l = lumenMemory.Span;
            bool any = false;
            for (int i = start; i < start + count; i++)
            {
                if (flags[i] is >= 2 and < StainedFlag && v[i] < 0.5f && scale * (source[i] - mt) < resinSide)
                {
                    l[i] = 1;
                    v[i] = 0;
                    any = true;
                }
            }

            if (any)
            {
                Interlocked.Exchange(ref found, 1);
            }
        }, ct);

        if (found == 0)
        {
            return null;
        }

        BoxMaximum.Apply(lumen, gap, planar, ct);
        float a = -scale / StainRule.Softness;
        float b = (float)((threshold + (scale * mt)) / StainRule.Softness);
        ParallelChunks.For(n, (start, count) =>
        {
            var source = smoothed.Span;
            var walls = lumenMemory.Span;
            var v = votes.Span;
            for (int i = start; i < start + count; i++)
            {
                if (walls[i] != 0 && flags[i] >= StainedFlag)
                {
                    v[i] *= 1f / (1f + MathF.Exp(-((a * source[i]) + b))); // sigmoid((k − z)/softness)
                }
                else
                {
                    walls[i] = 0;
                }
            }
        }, ct);

        return lumen;
    }

    /// <summary>
    /// Adds 1 to each unstained voxel per axis along which it lies in a run of at most <paramref name="gap"/> unstained
    /// voxels with a stained voxel at each end (the volume border does not close a run); z is skipped when planar.
    /// </summary>
    internal static void CountEnclosures(Shape3 shape, byte[] flags, int gap, bool planar, CancellationToken ct)
    {
        int nz = shape.Z, ny = shape.Y, nx = shape.X;
        long plane = (long)ny * nx;
        var options = new ParallelOptions { MaxDegreeOfParallelism = ParallelLines.Degree, CancellationToken = ct };

        // x and y runs: one z slice at a time (a slice is in cache).
        Parallel.For(0, nz, options, z =>
        {
            var slice = flags.AsSpan((int)(z * plane), (int)plane);
            for (int y = 0; y < ny; y++)
            {
                var row = slice.Slice(y * nx, nx);
                int previous = -1;
                for (int x = NextStained(row, 0); x >= 0; x = NextStained(row, x + 1))
                {
                    if (previous >= 0 && x - previous - 1 <= gap)
                    {
                        for (int i = previous + 1; i < x; i++)
                        {
                            row[i]++;
                        }
                    }

                    previous = x;
                }
            }

            var lastY = ArrayPool<int>.Shared.Rent(nx);
            try
            {
                ColumnRuns(slice, lastY.AsSpan(0, nx), ny, nx, nx, gap);
            }
            finally
            {
                ArrayPool<int>.Shared.Return(lastY);
            }
        });

        if (planar || nz == 1)
        {
            return;
        }

        // z runs: one y row at a time, all x at once (each step reads one row of a slice).
        Parallel.For(0, ny, options, y =>
        {
            var lastZ = ArrayPool<int>.Shared.Rent(nx);
            try
            {
                ColumnRuns(flags.AsSpan(y * nx), lastZ.AsSpan(0, nx), nz, nx, (int)plane, gap);
            }
            finally
            {
                ArrayPool<int>.Shared.Return(lastZ);
            }
        });
    }

    /// <summary>Index of the first stained voxel of <paramref name="row"/> at or after <paramref name="from"/>, or −1.</summary>
    private static int NextStained(ReadOnlySpan<byte> row, int from)
    {
        int found = from < row.Length ? row[from..].IndexOfAnyInRange(StainedFlag, byte.MaxValue) : -1;
        return found < 0 ? -1 : from + found;
    }

    /// <summary>Runs along an axis with <paramref name="steps"/> positions <paramref name="stride"/> apart, for <paramref name="width"/> adjacent columns.</summary>
    private static void ColumnRuns(Span<byte> data, Span<int> last, int steps, int width, int stride, int gap)
    {
        last.Fill(-1);
        for (int k = 0; k < steps; k++)
        {
            var row = data.Slice(k * stride, width);
            for (int x = NextStained(row, 0); x >= 0; x = NextStained(row, x + 1))
            {
                int previous = last[x];
                if (previous >= 0 && k - previous - 1 <= gap)
                {
                    for (int j = previous + 1; j < k; j++)
                    {
                        data[(j * stride) + x]++;
                    }
                }

                last[x] = k;
            }
        }
    }
}
