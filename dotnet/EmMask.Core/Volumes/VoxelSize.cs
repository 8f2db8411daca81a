namespace EmMask.Core.Volumes;

/// <summary>Physical voxel spacing in (z, y, x) order, in any consistent unit (nm by convention).</summary>
public readonly record struct VoxelSize(double Z, double Y, double X)
{
    /// <summary>Unit spacing on every axis.</summary>
    public static VoxelSize Isotropic { get; } = new(1, 1, 1);

    /// <summary>The spacing of axis 0 (z), 1 (y) or 2 (x).</summary>
    public double this[int axis] => axis switch
    {
        0 => Z,
        1 => Y,
        2 => X,
        _ => throw new ArgumentOutOfRangeException(nameof(axis), axis, "Axis must be 0 (z), 1 (y) or 2 (x)."),
    };

    /// <summary>Throws unless every spacing is finite and positive.</summary>
    public VoxelSize Validate()
    {
        if (!(Z > 0 && Y > 0 && X > 0) || !double.IsFinite(Z) || !double.IsFinite(Y) || !double.IsFinite(X))
        {
            throw new ArgumentOutOfRangeException(nameof(VoxelSize), this, "Voxel size must be finite and positive on every axis.");
        }

        return this;
    }

    /// <inheritdoc/>
    public override string ToString() => $"({Z:g}, {Y:g}, {X:g})";
}
