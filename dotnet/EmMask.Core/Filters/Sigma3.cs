using EmMask.Core.Volumes;

namespace EmMask.Core.Filters;

/// <summary>
/// Gaussian standard deviations in voxels, in (z, y, x) order. A zero component leaves that axis unfiltered
/// (scipy's behaviour for <c>sigma = 0</c>). Validation happens at the filter entry points, which reject
/// negative, NaN and infinite components naming the offending parameter.
/// </summary>
/// <param name="Z">Standard deviation along z, in voxels.</param>
/// <param name="Y">Standard deviation along y, in voxels.</param>
/// <param name="X">Standard deviation along x, in voxels.</param>
public readonly record struct Sigma3(double Z, double Y, double X)
{
    /// <summary>The same standard deviation (in voxels) on every axis.</summary>
    public static Sigma3 Isotropic(double s) => new(s, s, s);

    /// <summary>
    /// Converts a standard deviation in physical units (the unit of <paramref name="spacing"/>, nm by convention)
    /// into voxels per axis, so anisotropic stacks are smoothed by the same physical distance on every axis.
    /// </summary>
    public static Sigma3 FromPhysical(double sigma, VoxelSize spacing)
    {
        if (!(sigma >= 0) || !double.IsFinite(sigma))
        {
            throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "Sigma must be finite and non-negative.");
        }

        spacing.Validate();
        return new Sigma3(sigma / spacing.Z, sigma / spacing.Y, sigma / spacing.X);
    }

    /// <summary>The component for axis 0 (z), 1 (y) or 2 (x).</summary>
    public double this[int axis] => axis switch
    {
        0 => Z,
        1 => Y,
        2 => X,
        _ => throw new ArgumentOutOfRangeException(nameof(axis), axis, "Axis must be 0 (z), 1 (y) or 2 (x)."),
    };

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming <paramref name="parameterName"/> unless every component is finite and non-negative.</summary>
    internal Sigma3 Validate(string parameterName)
    {
        if (!(Z >= 0 && Y >= 0 && X >= 0) || !double.IsFinite(Z) || !double.IsFinite(Y) || !double.IsFinite(X))
        {
            throw new ArgumentOutOfRangeException(parameterName, this, "Sigma must be finite and non-negative on every axis.");
        }

        return this;
    }

    /// <inheritdoc/>
    public override string ToString() => $"({Z:g}, {Y:g}, {X:g})";
}
