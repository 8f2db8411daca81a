using EmMask.Core.Volumes;

namespace EmMask.Core.Phantom;

/// <summary>
/// Settings for <see cref="EmPhantom.Generate(PhantomOptions, CancellationToken)"/>: a synthetic, downsampled FIB-SEM crop of a Drosophila larval CNS
/// (tissue with neuropil, a cortex of cell bodies and a glial sheath, resin outside, ringed tracheae through both).
/// </summary>
public sealed record PhantomOptions
{
    /// <summary>Seed of every random choice; the same options give byte-identical volumes on any machine. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>Volume extent (z, y, x); every axis at least 1 (Z = 1 gives a 2D image). Default (96, 192, 192).</summary>
    public Shape3 Shape { get; init; } = new(96, 192, 192);

    /// <summary>Inverted contrast: membranes bright, resin dark (255 − v after composing). Truth is unchanged. Default false.</summary>
    public bool Invert { get; init; }

    /// <summary>
    /// Target fraction of voxels labelled brain tissue, 0..1 (honoured to within about 0.01). Null (default): drawn
    /// from the seed, uniformly in 0.15..0.8.
    /// </summary>
    public double? TissueFraction { get; init; }

    /// <summary>Adds curtaining, knife chatter, z intensity drift, mild blur and signal-dependent noise. Default true.</summary>
    public bool Artefacts { get; init; } = true;

    /// <summary>
    /// Physical voxel spacing in nm, default (16, 16, 16). Cell and membrane sizes are modelled in physical units, so a
    /// coarser spacing gives smaller, blurrier cells; it is also stored on the output volumes.
    /// </summary>
    public VoxelSize VoxelSize { get; init; } = new(16, 16, 16);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Shape.Z < 1 || Shape.Y < 1 || Shape.X < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Shape), Shape, "Phantom shape must be at least 1 on every axis.");
        }

        if (Shape.Length > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(Shape), Shape, $"Phantom of {Shape.Length} voxels is too large for one buffer.");
        }

        if (TissueFraction is double f && !(f >= 0 && f <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(TissueFraction), f, "Tissue fraction must be between 0 and 1.");
        }

        VoxelSize.Validate();
    }
}
