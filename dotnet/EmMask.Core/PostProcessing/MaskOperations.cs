using System.Globalization;
using EmMask.Core.Labeling;
using EmMask.Core.Morphology;
using EmMask.Core.Volumes;

namespace EmMask.Core.PostProcessing;

/// <summary>Opening with a disk per slice (<c>open2d:R</c>) or a ball (<c>open3d:R</c>); radius in voxels. See <see cref="MaskMorphology.Open"/>.</summary>
public sealed record OpenOperation : IMaskOperation
{
    /// <summary>Creates the step; <paramref name="radius"/> must be finite and ≥ 0.</summary>
    public OpenOperation(double radius, bool perSlice)
    {
        Radius = SpecNumbers.CheckDistance(radius, nameof(radius));
        PerSlice = perSlice;
    }

    /// <summary>Radius in voxels.</summary>
    public double Radius { get; }

    /// <summary>2D disk per z slice when true, 3D ball when false.</summary>
    public bool PerSlice { get; }

    /// <inheritdoc/>
    public string Name => PerSlice ? "open2d" : "open3d";

    /// <inheritdoc/>
    public void Apply(Volume<byte> mask, CancellationToken ct) => MaskMorphology.Open(mask, Radius, PerSlice, ct);

    /// <inheritdoc/>
    public string ToSpec() => $"{Name}:{SpecNumbers.Format(Radius)}";
}

/// <summary>Closing with a disk per slice (<c>close2d:R</c>) or a ball (<c>close3d:R</c>); radius in voxels. See <see cref="MaskMorphology.Close"/>.</summary>
public sealed record CloseOperation : IMaskOperation
{
    /// <summary>Creates the step; <paramref name="radius"/> must be finite and ≥ 0.</summary>
    public CloseOperation(double radius, bool perSlice)
    {
        Radius = SpecNumbers.CheckDistance(radius, nameof(radius));
        PerSlice = perSlice;
    }

    /// <summary>Radius in voxels.</summary>
    public double Radius { get; }

    /// <summary>2D disk per z slice when true, 3D ball when false.</summary>
    public bool PerSlice { get; }

    /// <inheritdoc/>
    public string Name => PerSlice ? "close2d" : "close3d";

    /// <inheritdoc/>
    public void Apply(Volume<byte> mask, CancellationToken ct) => MaskMorphology.Close(mask, Radius, PerSlice, ct);

    /// <inheritdoc/>
    public string ToSpec() => $"{Name}:{SpecNumbers.Format(Radius)}";
}

/// <summary>Keeps the N largest components (<c>largest[:N[:6|18|26]]</c>). See <see cref="MaskMorphology.KeepLargestComponents"/>.</summary>
public sealed record KeepLargestOperation : IMaskOperation
{
    /// <summary>Creates the step; <paramref name="count"/> ≥ 1.</summary>
    public KeepLargestOperation(int count = 1, Connectivity connectivity = Connectivity.Face)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        Count = count;
        Connectivity = connectivity.Validate(nameof(connectivity));
    }

    /// <summary>Components kept.</summary>
    public int Count { get; }

    /// <summary>Neighbourhood that defines a component.</summary>
    public Connectivity Connectivity { get; }

    /// <inheritdoc/>
    public string Name => "largest";

    /// <inheritdoc/>
    public void Apply(Volume<byte> mask, CancellationToken ct) => MaskMorphology.KeepLargestComponents(mask, Count, Connectivity, ct);

    /// <inheritdoc/>
    public string ToSpec() => Connectivity == Connectivity.Face
        ? $"largest:{Count.ToString(CultureInfo.InvariantCulture)}"
        : $"largest:{Count.ToString(CultureInfo.InvariantCulture)}:{(int)Connectivity}";
}

/// <summary>Fills holes in 3D (<c>fill3d</c>) or per z slice (<c>fill2d</c>). See <see cref="MaskMorphology.FillHoles(Volume{byte}, bool, CancellationToken)"/>.</summary>
/// <param name="PerSlice">Per z slice (2D) when true.</param>
public sealed record FillHolesOperation(bool PerSlice) : IMaskOperation
{
    /// <inheritdoc/>
    public string Name => PerSlice ? "fill2d" : "fill3d";

    /// <inheritdoc/>
    public void Apply(Volume<byte> mask, CancellationToken ct) => MaskMorphology.FillHoles(mask, PerSlice, ct);

    /// <inheritdoc/>
    public string ToSpec() => Name;
}

/// <summary>
/// Fills holes the way the stack calls for (<c>fill</c>): per z slice for thin or anisotropic stacks, where every
/// voxel of a 1–2-section stack touches a z face so 3D filling can fill nothing, else in 3D. The rule is the
/// classical masker's auto mode (<see cref="Masking.MaskingModes.Resolve"/>), read from the mask's shape and voxel size.
/// </summary>
public sealed record FillHolesAutoOperation : IMaskOperation
{
    /// <inheritdoc/>
    public string Name => "fill";

    /// <inheritdoc/>
    public void Apply(Volume<byte> mask, CancellationToken ct) =>
        MaskMorphology.FillHoles(mask, Masking.MaskingModes.Resolve(Masking.MaskingMode.Auto, mask.Shape, mask.VoxelSize) == Masking.MaskingMode.TwoD, ct);

    /// <inheritdoc/>
    public string ToSpec() => Name;
}

/// <summary>Dilates by a physical distance (<c>grow:D</c>, in the voxel size's unit). See <see cref="MaskMorphology.Grow"/>.</summary>
public sealed record GrowOperation : IMaskOperation
{
    /// <summary>Creates the step; <paramref name="distance"/> must be finite and ≥ 0.</summary>
    public GrowOperation(double distance) => Distance = SpecNumbers.CheckDistance(distance, nameof(distance));

    /// <summary>Distance in the voxel size's unit.</summary>
    public double Distance { get; }

    /// <inheritdoc/>
    public string Name => "grow";

    /// <inheritdoc/>
    public void Apply(Volume<byte> mask, CancellationToken ct) => MaskMorphology.Grow(mask, Distance, ct);

    /// <inheritdoc/>
    public string ToSpec() => $"grow:{SpecNumbers.Format(Distance)}";
}

/// <summary>Erodes by a physical distance (<c>erode:D</c>, in the voxel size's unit). See <see cref="MaskMorphology.Erode"/>.</summary>
public sealed record ErodeOperation : IMaskOperation
{
    /// <summary>Creates the step; <paramref name="distance"/> must be finite and ≥ 0.</summary>
    public ErodeOperation(double distance) => Distance = SpecNumbers.CheckDistance(distance, nameof(distance));

    /// <summary>Distance in the voxel size's unit.</summary>
    public double Distance { get; }

    /// <inheritdoc/>
    public string Name => "erode";

    /// <inheritdoc/>
    public void Apply(Volume<byte> mask, CancellationToken ct) => MaskMorphology.Erode(mask, Distance, ct);

    /// <inheritdoc/>
    public string ToSpec() => $"erode:{SpecNumbers.Format(Distance)}";
}

/// <summary>Removes components smaller than N voxels (<c>minsize:N[:6|18|26]</c>). See <see cref="MaskMorphology.RemoveSmallRegions"/>.</summary>
public sealed record RemoveSmallRegionsOperation : IMaskOperation
{
    /// <summary>Creates the step; <paramref name="minimumVoxels"/> ≥ 0.</summary>
    public RemoveSmallRegionsOperation(long minimumVoxels, Connectivity connectivity = Connectivity.Face)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumVoxels);
        MinimumVoxels = minimumVoxels;
        Connectivity = connectivity.Validate(nameof(connectivity));
    }

    /// <summary>Components with fewer voxels are removed.</summary>
    public long MinimumVoxels { get; }

    /// <summary>Neighbourhood that defines a component.</summary>
    public Connectivity Connectivity { get; }

    /// <inheritdoc/>
    public string Name => "minsize";

    /// <inheritdoc/>
    public void Apply(Volume<byte> mask, CancellationToken ct) => MaskMorphology.RemoveSmallRegions(mask, MinimumVoxels, Connectivity, ct);

    /// <inheritdoc/>
    public string ToSpec() => Connectivity == Connectivity.Face
        ? $"minsize:{MinimumVoxels.ToString(CultureInfo.InvariantCulture)}"
        : $"minsize:{MinimumVoxels.ToString(CultureInfo.InvariantCulture)}:{(int)Connectivity}";
}

internal static class SpecNumbers
{
    public static double CheckDistance(double value, string name)
    {
        if (!double.IsFinite(value) || value < 0)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number ≥ 0.");
        }

        return value;
    }

    // Shortest text that parses back to the same double.
    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
