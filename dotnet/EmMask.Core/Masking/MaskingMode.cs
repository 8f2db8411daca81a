using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>How the classical masker treats the sections of a stack (<see cref="ClassicalMaskOptions.Mode"/>).</summary>
public enum MaskingMode
{
    /// <summary>Per section for thin or anisotropic stacks, else as a volume (<see cref="MaskingModes.Resolve"/>).</summary>
    Auto,

    /// <summary>Each z section on its own: 2D filters, 2D hole filling.</summary>
    TwoD,

    /// <summary>The stack as a volume: 3D filters, 3D hole filling.</summary>
    ThreeD,
}

/// <summary>Names and the automatic choice of <see cref="MaskingMode"/>.</summary>
public static class MaskingModes
{
    /// <summary>Fewest sections for 3D in auto mode: the pyramid and the texture window need depth.</summary>
    public const int MinimumSections3D = 64;

    /// <summary>z spacing over x–y spacing from which auto mode works per section.</summary>
    public const double AnisotropyFor2D = 2.0;

    /// <summary>The mode that <paramref name="mode"/> means for a stack of this shape and voxel size (never Auto).</summary>
    /// <remarks>
    /// A 3D structure tensor on one or two sections collapses (the acceptance ssTEM case: automatic threshold 0.046); on
    /// ssTEM with 40 nm sections next to 4 nm pixels neighbouring sections are too different for 3D texture. An unknown
    /// voxel size (none, or 1×1×1) is taken as isotropic.
    /// </remarks>
    public static MaskingMode Resolve(MaskingMode mode, Shape3 shape, VoxelSize voxelSize)
    {
        if (mode != MaskingMode.Auto)
        {
            return mode;
        }

        if (shape.Z < MinimumSections3D)
        {
            return MaskingMode.TwoD;
        }

        double plane = Math.Max(voxelSize.Y, voxelSize.X);
        bool known = voxelSize != VoxelSize.Isotropic && plane > 0;
        return known && voxelSize.Z >= AnisotropyFor2D * plane ? MaskingMode.TwoD : MaskingMode.ThreeD;
    }

    /// <summary>"auto", "2d" or "3d".</summary>
    public static string Name(MaskingMode mode) => mode switch
    {
        MaskingMode.TwoD => "2d",
        MaskingMode.ThreeD => "3d",
        _ => "auto",
    };

    /// <summary>Parses "auto", "2d" or "3d" (case-insensitive).</summary>
    /// <exception cref="ArgumentException">Any other text.</exception>
    public static MaskingMode Parse(string text) => text?.Trim().ToLowerInvariant() switch
    {
        "auto" => MaskingMode.Auto,
        "2d" => MaskingMode.TwoD,
        "3d" => MaskingMode.ThreeD,
        _ => throw new ArgumentException($"mode must be auto, 2d or 3d, got '{text}'."),
    };
}
