using EmMask.Core.Volumes;

namespace EmMask.Core.Inference;

/// <summary>How <see cref="SlidingWindowInferer"/> treats a stack: as one volume, or section by section.</summary>
public enum StackMode
{
    /// <summary>
    /// Section by section when <see cref="StackModes.PrefersSections"/> says so (fewer sections than the network's
    /// smallest window, or z spacing at least twice the in-plane spacing), else as a volume.
    /// </summary>
    Auto = 0,

    /// <summary>One 3-D sliding-window pass over the whole stack.</summary>
    Volume = 1,

    /// <summary>Each section alone, copied into a thin stack (<see cref="SectionwiseInference"/>).</summary>
    Sections = 2,
}

/// <summary>The rule behind <see cref="StackMode.Auto"/>.</summary>
public static class StackModes
{
    /// <summary>z spacing at or above this multiple of the in-plane spacing makes a stack anisotropic.</summary>
    public const double AnisotropyRatio = 2.0;

    /// <summary>
    /// True when a stack is better predicted section by section: it has fewer sections than
    /// <paramref name="minimumDepth"/> (the network's smallest window: 16 for the shipped U-Net; a 3-D window would be
    /// mostly zero padding), or its z spacing is at least <see cref="AnisotropyRatio"/> times its coarser in-plane
    /// spacing (serial sections: neighbouring sections differ more than neighbouring pixels, unlike the training data).
    /// The unit spacing (1, 1, 1), i.e. an unknown voxel size, is isotropic.
    /// </summary>
    public static bool PrefersSections(Shape3 shape, VoxelSize voxel, int minimumDepth)
    {
        if (shape.Z < minimumDepth)
        {
            return true;
        }

        double inPlane = Math.Max(voxel.Y, voxel.X);
        return inPlane > 0 && voxel.Z >= AnisotropyRatio * inPlane;
    }

    /// <summary>Resolves <see cref="StackMode.Auto"/> for a stack.</summary>
    public static bool UseSections(StackMode mode, Shape3 shape, VoxelSize voxel, int minimumDepth) => mode switch
    {
        StackMode.Sections => true,
        StackMode.Volume => false,
        _ => PrefersSections(shape, voxel, minimumDepth),
    };
}
