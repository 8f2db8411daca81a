using EmMask.Core.Volumes;

namespace EmMask.Core.Blockwise;

/// <summary>
/// The sample a block-wise run measures its global statistics on (normalisation, noise, working level, threshold):
/// the whole volume when it has at most <see cref="Limit"/> voxels — then the block-wise plan is exactly the in-memory
/// one — else <see cref="Cubes"/> cubes spread over the volume on a regular lattice, stacked along z into one volume
/// (for a volume of one section, squares of the section set side by side along x, so that the sample is a section
/// too). The in-memory masker measures a volume larger than the limit on the same sample, so both give the same mask.
/// </summary>
/// <remarks>
/// The stacked cubes meet at seams that no real volume has; their texture enters the statistics of the few sections
/// beside each seam (a few percent of the sample). The cubes are spread over the whole volume so that both resin and
/// tissue are seen wherever they are.
/// </remarks>
public static class VolumeSample
{
    /// <summary>Voxels up to which the whole volume is the sample.</summary>
    public const long Limit = 8L << 20;

    /// <summary>Number of cubes in a sample of a larger volume (128³ each: deep enough for the coarsest texture level).</summary>
    public const int Cubes = 4;

    /// <summary>Reads the sample (<paramref name="wholeSections"/>: see <see cref="Boxes"/>).</summary>
    /// <param name="source">The volume.</param>
    /// <param name="ct">Cancels the reads.</param>
    /// <param name="wholeSections">Sample a stack masked section by section by whole sections (<see cref="Boxes"/>).</param>
    /// <param name="limit">Voxels of the sample (<see cref="Limit"/>; less where a memory budget asks: <see cref="ClassicalBlockwise.SampleFor"/>).</param>
    public static IVolume Read(IBlockSource source, CancellationToken ct = default, bool wholeSections = false, long limit = Limit)
    {
        ArgumentNullException.ThrowIfNull(source);
        var boxes = Boxes(source.Shape, wholeSections, limit);
        if (boxes.Count == 1)
        {
            return source.Read(boxes[0].Offset, boxes[0].Size, ct);
        }

        var parts = boxes.Select(b => source.Read(b.Offset, b.Size, ct)).ToList();
        return source.Shape.Z == 1 ? SideBySide(parts, boxes[0].Size, source.VoxelSize) : Stack(parts, boxes[0].Size, source.VoxelSize);
    }

    /// <summary>
    /// The regions the sample is made of, in stacking order (one region, the whole volume, up to <see cref="Limit"/>).
    /// With <paramref name="wholeSections"/> (a stack masked section by section), a larger volume is sampled by whole
    /// sections spread evenly over z, as many as fit in <see cref="Limit"/>: a section's statistics (its working level
    /// and threshold, which the stack's sections agree on) are those of the whole section, not of a 128² crop. Sections
    /// larger than the limit are sampled by cubes.
    /// </summary>
    /// <param name="shape">The volume's shape.</param>
    /// <param name="wholeSections">Sample by whole sections where they fit.</param>
    /// <param name="limit">Voxels of the sample (<see cref="Limit"/> by default).</param>
    public static IReadOnlyList<((int Z, int Y, int X) Offset, Shape3 Size)> Boxes(Shape3 shape, bool wholeSections = false, long limit = Limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, Cubes);
        if (shape.Length <= limit)
        {
            return [((0, 0, 0), shape)];
        }

        long plane = shape.SliceLength;
        if (wholeSections && plane <= limit)
        {
            int count = (int)Math.Min(shape.Z, limit / plane);
            var section = new Shape3(1, shape.Y, shape.X);
            return [.. Enumerable.Range(0, count).Select(i => ((Spread(i, count, shape.Z, 1), 0, 0), section))];
        }

        long perCube = limit / Cubes;
        int edge = (int)Math.Floor(shape.Z == 1 ? Math.Sqrt(perCube) : Math.Cbrt(perCube)); // one section: squares
        var size = new Shape3(Math.Min(edge, shape.Z), Math.Min(edge, shape.Y), Math.Min(edge, shape.X));

        // Spread the cubes over the axes with the most room.
        var counts = Lattice(shape, size);
        var boxes = new List<((int Z, int Y, int X) Offset, Shape3 Size)>();
        for (int z = 0; z < counts.Z; z++)
        {
            for (int y = 0; y < counts.Y; y++)
            {
                for (int x = 0; x < counts.X; x++)
                {
                    boxes.Add(((Spread(z, counts.Z, shape.Z, size.Z), Spread(y, counts.Y, shape.Y, size.Y), Spread(x, counts.X, shape.X, size.X)), size));
                }
            }
        }

        return boxes;
    }

    private static (int Z, int Y, int X) Lattice(Shape3 shape, Shape3 size)
    {
        int[] counts = [1, 1, 1];
        int[] room = [shape.Z / size.Z, shape.Y / size.Y, shape.X / size.X];
        while (counts[0] * counts[1] * counts[2] < Cubes)
        {
            int best = -1;
            for (int a = 0; a < 3; a++)
            {
                if (counts[a] < Math.Max(1, room[a]) && (best < 0 || room[a] / (double)counts[a] > room[best] / (double)counts[best]))
                {
                    best = a;
                }
            }

            if (best < 0)
            {
                break;
            }

            counts[best]++;
        }

        return (counts[0], counts[1], counts[2]);
    }

    // Cube i of n spread evenly over the axis (centred cells).
    private static int Spread(int i, int n, int length, int size) =>
        Math.Clamp((int)(((i + 0.5) * length / n) - (size / 2.0)), 0, length - size);

    private static IVolume Stack(List<IVolume> parts, Shape3 size, VoxelSize voxelSize)
    {
        var shape = new Shape3(size.Z * parts.Count, size.Y, size.X);
        return parts[0] switch
        {
            Volume<byte> => Join<byte>(parts, shape, voxelSize),
            Volume<ushort> => Join<ushort>(parts, shape, voxelSize),
            Volume<float> => Join<float>(parts, shape, voxelSize),
            _ => throw new NotSupportedException($"Voxel type {parts[0].VoxelType} is not supported."),
        };
    }

    // One section's squares side by side along x, each row of the result the rows of the parts in turn.
    private static IVolume SideBySide(List<IVolume> parts, Shape3 size, VoxelSize voxelSize)
    {
        var shape = new Shape3(1, size.Y, size.X * parts.Count);
        return parts[0] switch
        {
            Volume<byte> => JoinX<byte>(parts, shape, voxelSize),
            Volume<ushort> => JoinX<ushort>(parts, shape, voxelSize),
            Volume<float> => JoinX<float>(parts, shape, voxelSize),
            _ => throw new NotSupportedException($"Voxel type {parts[0].VoxelType} is not supported."),
        };
    }

    private static Volume<T> JoinX<T>(List<IVolume> parts, Shape3 shape, VoxelSize voxelSize)
        where T : unmanaged
    {
        var result = new Volume<T>(shape, voxelSize);
        int width = shape.X / parts.Count;
        for (int k = 0; k < parts.Count; k++)
        {
            var from = ((Volume<T>)parts[k]).Span;
            var to = result.Span;
            for (int y = 0; y < shape.Y; y++)
            {
                from.Slice(y * width, width).CopyTo(to.Slice((y * shape.X) + (k * width), width));
            }
        }

        return result;
    }

    private static Volume<T> Join<T>(List<IVolume> parts, Shape3 shape, VoxelSize voxelSize)
        where T : unmanaged
    {
        var result = new Volume<T>(shape, voxelSize);
        long offset = 0;
        foreach (Volume<T> part in parts)
        {
            part.Span.CopyTo(result.Span[(int)offset..]);
            offset += part.Shape.Length;
        }

        return result;
    }
}
