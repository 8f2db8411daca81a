using EmMask.Core.Volumes;

namespace EmMask.Core.Blockwise;

/// <summary>
/// A volume cut into cores of <see cref="BlockSize"/> (the last ones along an axis may be smaller), each read with
/// <see cref="Halo"/> voxels of context on every side. Core origins are multiples of the block size, which is a multiple
/// of the method's alignment, and the halo is too, so every block's pyramid lines up with the whole volume's.
/// </summary>
public sealed class BlockGrid
{
    /// <summary>Creates the grid.</summary>
    /// <exception cref="ArgumentException">A block size that is not positive, or not a multiple of <paramref name="alignment"/>.</exception>
    /// <param name="shape">The volume's shape.</param>
    /// <param name="blockSize">The core size (clamped to the volume).</param>
    /// <param name="halo">Context voxels before each core (and after it, unless <paramref name="haloAfter"/> is given).</param>
    /// <param name="alignment">Core edges are multiples of it (where they do not cover the axis).</param>
    /// <param name="haloAfter">Context voxels after each core, when it differs from <paramref name="halo"/>.</param>
    /// <param name="planar">Each section stands alone (a method that works section by section): the halos apply in-plane only, none along z.</param>
    /// <param name="minimumRead">Where a read region ends at the volume's end and spans fewer voxels than this (an axis at
    /// least this long), its start moves back, to a multiple of <paramref name="alignment"/>, until it does: a sliding
    /// window of this size then ends where the whole volume's last window does.</param>
    public BlockGrid(Shape3 shape, Shape3 blockSize, int halo, int alignment = 1, int? haloAfter = null, bool planar = false, int minimumRead = 0)
    {
        if (shape.IsEmpty)
        {
            throw new ArgumentException($"Cannot cut an empty volume {shape} into blocks.", nameof(shape));
        }

        if (blockSize.Z <= 0 || blockSize.Y <= 0 || blockSize.X <= 0)
        {
            throw new ArgumentException($"Block size {blockSize} must be positive on every axis.", nameof(blockSize));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(halo);
        ArgumentOutOfRangeException.ThrowIfLessThan(alignment, 1);
        foreach (var (edge, length) in new[] { (blockSize.Z, shape.Z), (blockSize.Y, shape.Y), (blockSize.X, shape.X) })
        {
            if (edge % alignment != 0 && edge < length)
            {
                throw new ArgumentException($"Block size {blockSize} must be a multiple of {alignment} (the working level's cell).", nameof(blockSize));
            }
        }

        Shape = shape;
        BlockSize = new Shape3(Math.Min(blockSize.Z, shape.Z), Math.Min(blockSize.Y, shape.Y), Math.Min(blockSize.X, shape.X));
        Halo = halo;
        HaloAfter = haloAfter ?? halo;
        Planar = planar;
        Alignment = alignment;
        MinimumRead = minimumRead;
        ArgumentOutOfRangeException.ThrowIfNegative(HaloAfter);
        Counts = (Cells(shape.Z, BlockSize.Z), Cells(shape.Y, BlockSize.Y), Cells(shape.X, BlockSize.X));
    }

    /// <summary>The volume's shape.</summary>
    public Shape3 Shape { get; }

    /// <summary>The core size (clamped to the volume).</summary>
    public Shape3 BlockSize { get; }

    /// <summary>Context voxels before each core (on every axis, or in-plane only when <see cref="Planar"/>).</summary>
    public int Halo { get; }

    /// <summary>Context voxels after each core (on every axis, or in-plane only when <see cref="Planar"/>).</summary>
    public int HaloAfter { get; }

    /// <summary>Whether the halos apply in-plane only (no context along z).</summary>
    public bool Planar { get; }

    /// <summary>Core edges (and read starts moved back for <see cref="MinimumRead"/>) are multiples of this.</summary>
    public int Alignment { get; }

    /// <summary>The fewest voxels a read region ending at the volume's end spans (where the axis is that long); 0: no minimum.</summary>
    public int MinimumRead { get; }

    /// <summary>Blocks along z, y and x.</summary>
    public (int Z, int Y, int X) Counts { get; }

    /// <summary>Number of blocks.</summary>
    public int Count => Counts.Z * Counts.Y * Counts.X;

    /// <summary>The largest read region of any block.</summary>
    public Shape3 LargestRead => new(
        Math.Min(Shape.Z, BlockSize.Z + (Planar ? 0 : Halo + HaloAfter)),
        Math.Min(Shape.Y, BlockSize.Y + Halo + HaloAfter),
        Math.Min(Shape.X, BlockSize.X + Halo + HaloAfter));

    /// <summary>The block at a grid index.</summary>
    public BlockRegion this[int z, int y, int x]
    {
        get
        {
            var (cz, sz, rz, nz) = Planar ? Axis(z, BlockSize.Z, Shape.Z, 0, 0, 0) : Axis(z, BlockSize.Z, Shape.Z);
            var (cy, sy, ry, ny) = Axis(y, BlockSize.Y, Shape.Y);
            var (cx, sx, rx, nx) = Axis(x, BlockSize.X, Shape.X);
            return new BlockRegion((z, y, x), (cz, cy, cx), new Shape3(sz, sy, sx), (rz, ry, rx), new Shape3(nz, ny, nx));
        }
    }

    /// <summary>Every block in scan order (z, then y, then x).</summary>
    public IEnumerable<BlockRegion> Blocks()
    {
        for (int z = 0; z < Counts.Z; z++)
        {
            for (int y = 0; y < Counts.Y; y++)
            {
                for (int x = 0; x < Counts.X; x++)
                {
                    yield return this[z, y, x];
                }
            }
        }
    }

    private (int Core, int CoreSize, int Read, int ReadSize) Axis(int index, int block, int length) => Axis(index, block, length, Halo, HaloAfter, MinimumRead);

    private (int Core, int CoreSize, int Read, int ReadSize) Axis(int index, int block, int length, int before, int after, int minimumRead)
    {
        int core = index * block;
        int size = Math.Min(block, length - core);
        int read = Math.Max(0, core - before);
        int end = Math.Min(length, core + size + after);
        if (end == length && end - read < minimumRead && length >= minimumRead)
        {
            read = (length - minimumRead) / Alignment * Alignment;
        }

        return (core, size, read, end - read);
    }

    private static int Cells(int length, int block) => (length + block - 1) / block;
}
