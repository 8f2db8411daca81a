using EmMask.Core.Volumes;

namespace EmMask.Core.Blockwise;

/// <summary>
/// A stack handed out row by row from its sections, each its own row source of one section (a stack masked section by
/// section: <see cref="SectionSource"/>). A section's source is made on first use and dropped once the writer is more
/// than <c>reach</c> sections past it, so at most <c>reach + 1</c> sections are held; all are dropped after the last
/// row.
/// </summary>
/// <typeparam name="T">The voxel type (uint8 masks, float32 confidence).</typeparam>
public sealed class SectionRows<T> : IRowSource<T>
    where T : unmanaged
{
    private readonly Func<int, IRowSource<T>> section;
    private readonly int reach;
    private readonly Dictionary<int, IRowSource<T>> open = [];
    private int furthest = -1;
    private int lowest;

    /// <param name="shape">The stack's shape.</param>
    /// <param name="voxelSize">The stack's voxel size.</param>
    /// <param name="section">Section z's rows (shape 1 × Y × X), made when the writer first asks for it.</param>
    /// <param name="reach">How far back (sections) the writer may ask for rows again (<c>VolumeWriter.RowReach</c>).</param>
    public SectionRows(Shape3 shape, VoxelSize voxelSize, Func<int, IRowSource<T>> section, int reach)
    {
        this.section = section ?? throw new ArgumentNullException(nameof(section));
        ArgumentOutOfRangeException.ThrowIfNegative(reach);
        Shape = shape;
        VoxelSize = voxelSize;
        this.reach = reach;
    }

    /// <inheritdoc/>
    public Shape3 Shape { get; }

    /// <inheritdoc/>
    public VoxelSize VoxelSize { get; }

    /// <summary>Sections held now (tests).</summary>
    public int Held => open.Count;

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">A section more than <c>reach</c> behind the furthest asked for, or a
    /// section source of the wrong shape.</exception>
    public void CopyRow(int z, int y, Span<T> destination)
    {
        if (!open.TryGetValue(z, out var rows))
        {
            if (z < lowest || z < furthest - reach)
            {
                throw new InvalidOperationException($"Rows must be read with z at most {reach} sections behind the furthest asked for (asked for z = {z}).");
            }

            rows = section(z);
            if (rows.Shape != new Shape3(1, Shape.Y, Shape.X))
            {
                throw new InvalidOperationException($"Section {z} has the shape {rows.Shape}; one section of {Shape.Y}x{Shape.X} was expected.");
            }

            open[z] = rows;
        }

        rows.CopyRow(0, y, destination);
        furthest = Math.Max(furthest, z);
        bool last = z == Shape.Z - 1 && y == Shape.Y - 1;
        foreach (int old in open.Keys.Where(k => last || k < furthest - reach).ToList())
        {
            open.Remove(old);
            lowest = Math.Max(lowest, old + 1);
        }
    }
}
