namespace EmMask.Learning.Models;

/// <summary>
/// Hyper-parameters of <see cref="MonaiUNet"/>, named as the arguments of MONAI's
/// <c>monai.networks.nets.UNet</c>. The defaults are EM Mask's shipped architecture.
/// </summary>
/// <param name="SpatialDims">Number of spatial dimensions; only 3 is supported.</param>
/// <param name="InChannels">Input channels (1: one grey-value channel).</param>
/// <param name="OutChannels">Output channels (1: logit of "brain tissue").</param>
/// <param name="Channels">Feature channels per level, top to bottom (at least 2 levels).</param>
/// <param name="Strides">Down-sampling stride per level transition; one fewer than <paramref name="Channels"/>.</param>
/// <param name="NumResUnits">Sub-units per down-path ResidualUnit; 0 uses plain convolutions as MONAI does.</param>
/// <param name="Kernel">Convolution kernel size (odd).</param>
/// <param name="UpKernel">Transposed-convolution kernel size (odd).</param>
/// <param name="Dropout">Dropout probability in every ADN block (0 keeps a parameter-free dropout module, as MONAI).</param>
public sealed record UNetConfig(
    int SpatialDims,
    int InChannels,
    int OutChannels,
    IReadOnlyList<int> Channels,
    IReadOnlyList<int> Strides,
    int NumResUnits,
    int Kernel,
    int UpKernel,
    double Dropout)
{
    /// <summary>EM Mask's default: 3-D, 1→1 channels, (16,32,64,128,256), strides 2, 2 residual units, kernel 3, instance norm, PReLU.</summary>
    public static UNetConfig Default { get; } = new(3, 1, 1, [16, 32, 64, 128, 256], [2, 2, 2, 2], 2, 3, 3, 0.0);

    /// <summary>Normalisation used in every ADN block (MONAI "instance": InstanceNorm3d, affine=False). Fixed.</summary>
    public string Norm => "instance";

    /// <summary>Activation used in every ADN block (MONAI "PRELU": one shared slope, init 0.25). Fixed.</summary>
    public string Act => "prelu";

    /// <summary>Product of all strides: input sizes must be multiples of this (16 for the default).</summary>
    public int SizeDivisor => Strides.Aggregate(1, (a, s) => a * s);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid parameter.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(SpatialDims, 3, nameof(SpatialDims));
        ArgumentOutOfRangeException.ThrowIfLessThan(InChannels, 1, nameof(InChannels));
        ArgumentOutOfRangeException.ThrowIfLessThan(OutChannels, 1, nameof(OutChannels));
        ArgumentNullException.ThrowIfNull(Channels, nameof(Channels));
        ArgumentNullException.ThrowIfNull(Strides, nameof(Strides));
        ArgumentOutOfRangeException.ThrowIfLessThan(Channels.Count, 2, nameof(Channels));
        if (Strides.Count != Channels.Count - 1)
            throw new ArgumentOutOfRangeException(nameof(Strides), Strides.Count, $"Strides needs {Channels.Count - 1} entries (one fewer than Channels).");
        foreach (var c in Channels) ArgumentOutOfRangeException.ThrowIfLessThan(c, 1, nameof(Channels));
        foreach (var s in Strides) ArgumentOutOfRangeException.ThrowIfLessThan(s, 1, nameof(Strides));
        ArgumentOutOfRangeException.ThrowIfNegative(NumResUnits, nameof(NumResUnits));
        if (Kernel < 1 || Kernel % 2 == 0) throw new ArgumentOutOfRangeException(nameof(Kernel), Kernel, "Kernel must be a positive odd number.");
        if (UpKernel < 1 || UpKernel % 2 == 0) throw new ArgumentOutOfRangeException(nameof(UpKernel), UpKernel, "UpKernel must be a positive odd number.");
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "Dropout must be in [0, 1).");
    }

    /// <inheritdoc/>
    public bool Equals(UNetConfig? other) =>
        other is not null && SpatialDims == other.SpatialDims && InChannels == other.InChannels && OutChannels == other.OutChannels
        && Channels.SequenceEqual(other.Channels) && Strides.SequenceEqual(other.Strides) && NumResUnits == other.NumResUnits
        && Kernel == other.Kernel && UpKernel == other.UpKernel && Dropout.Equals(other.Dropout);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(SpatialDims, InChannels, OutChannels, string.Join(',', Channels), string.Join(',', Strides), NumResUnits, Kernel, HashCode.Combine(UpKernel, Dropout));
}
