using EmMask.Core.Masking;
using EmMask.Core.Volumes;

namespace EmMask.Core.Blockwise;

/// <summary>
/// One section of a volume read block by block, as a volume of one section: a stack in 2D mode whose sections do not
/// fit the memory budget one by one is masked section by section, each tiled in-plane as a one-section volume is
/// (<see cref="ClassicalBlockwise.Plan(IBlockSource, ClassicalMaskOptions, long, bool, CancellationToken)"/>).
/// </summary>
public sealed class SectionSource : IBlockSource
{
    private readonly IBlockSource stack;
    private readonly int z;

    /// <summary>Section <paramref name="z"/> of <paramref name="stack"/>.</summary>
    public SectionSource(IBlockSource stack, int z)
    {
        this.stack = stack ?? throw new ArgumentNullException(nameof(stack));
        ArgumentOutOfRangeException.ThrowIfNegative(z);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(z, stack.Shape.Z);
        this.z = z;
    }

    /// <inheritdoc/>
    public Shape3 Shape => new(1, stack.Shape.Y, stack.Shape.X);

    /// <inheritdoc/>
    public VoxelSize VoxelSize => stack.VoxelSize;

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException">A region that is not within the one section.</exception>
    public IVolume Read((int Z, int Y, int X) offset, Shape3 size, CancellationToken ct)
    {
        if (offset.Z != 0 || size.Z != 1)
        {
            throw new ArgumentOutOfRangeException(nameof(size), $"A volume of one section has only z = 0 (asked for {size.Z} sections from z = {offset.Z}).");
        }

        return stack.Read((z, offset.Y, offset.X), size, ct);
    }
}
