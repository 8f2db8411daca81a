using System.Numerics.Tensors;
using EmMask.Core.Filters;
using EmMask.Core.Labeling;
using EmMask.Core.Morphology;
using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// Resin narrower than the working level resolves (a channel the pooled vote covered, too narrow for the working-level
/// markers), found at full resolution where the section's resin is known: flat material at the resin's intensity. They
/// only seed the boundary refinement's watershed.
/// </summary>
internal static class FineResinMarkers
{
    /// <summary>Robust spreads of the resin's intensity within which a flat voxel is a fine resin marker.</summary>
    public const double Window = 1.5;

    /// <summary>Gaussian σ (voxels) of the window of the local standard deviation that says whether material is flat.</summary>
    public const double FlatnessSigma = 2;

    /// <summary>Quantile of the local standard deviation over the markers below which material counts as flat as resin.</summary>
    public const double FlatnessQuantile = 0.9;

    /// <summary>
    /// The markers with fine resin markers added: valid voxels within <see cref="Window"/> robust spreads of the
    /// resin's intensity whose local standard deviation (window σ <see cref="FlatnessSigma"/>) is at most its
    /// <see cref="FlatnessQuantile"/> quantile over the markers, in 4-connected regions of at least
    /// <paramref name="minimumVoxels"/> voxels (specks of noise in tissue are not resin).
    /// </summary>
    /// <param name="image">The (stabilised) image the refinement runs on.</param>
    /// <param name="markers">Resin markers; not changed.</param>
    /// <param name="valid">Valid voxels (null: all).</param>
    /// <param name="resin">The section's resin intensity, measured over <paramref name="markers"/>.</param>
    /// <param name="minimumVoxels">Smallest region of fine markers kept.</param>
    /// <param name="ct">Cancels the work.</param>
    /// <param name="flat">The flatness under which material counts as flat as resin, known from elsewhere (a tiled
    /// section's plan: <see cref="KnownResin"/>), or null to measure it over <paramref name="markers"/>.</param>
    public static Volume<byte> Add(Volume<float> image, Volume<byte> markers, Volume<byte>? valid, ResinIntensity resin, long minimumVoxels, CancellationToken ct, float? flat = null)
    {
        var local = LocalSpread(image, ct);
        var l = local.Span;
        float flatness = flat ?? Flatness(l, markers, valid);
        var fine = markers.Like<byte>();
        var f = fine.Span;
        var ok = valid is null ? default : valid.Span;
        float reach = (float)(Window * resin.Spread);
        float median = resin.Median;
        var s = resin.Smoothed.Span;
        for (int i = 0; i < f.Length; i++)
        {
            f[i] = (ok.IsEmpty || ok[i] != 0) && Math.Abs(s[i] - median) <= reach && l[i] <= flatness ? (byte)1 : (byte)0;
        }

        MaskMorphology.RemoveSmallRegions(fine, minimumVoxels, Connectivity.Face, ct);
        var k = markers.Span;
        for (int i = 0; i < f.Length; i++)
        {
            f[i] |= k[i] != 0 ? (byte)1 : (byte)0;
        }

        return fine;
    }

    /// <summary>The <see cref="FlatnessQuantile"/> quantile of the local spread over the valid markers.</summary>
    public static float Flatness(ReadOnlySpan<float> localSpread, Volume<byte> markers, Volume<byte>? valid)
    {
        var onMarkers = ResinIntensity.OnMarkers(localSpread, markers.Span, valid);
        return Select.Nth(onMarkers, (int)(FlatnessQuantile * (onMarkers.Length - 1)));
    }

    /// <summary>The local standard deviation sqrt(G((x − G(x))²)), window σ <see cref="FlatnessSigma"/>.</summary>
    public static Volume<float> LocalSpread(Volume<float> image, CancellationToken ct)
    {
        var local = image.Like<float>();
        GaussianFilter.Apply(image, local, Sigma3.Isotropic(FlatnessSigma), cancellationToken: ct);
        var l = local.Span;
        TensorPrimitives.Subtract(image.Span, l, l);
        TensorPrimitives.Multiply(l, l, l);
        GaussianFilter.Apply(local, local, Sigma3.Isotropic(FlatnessSigma), cancellationToken: ct);
        TensorPrimitives.Max(l, 0f, l);
        TensorPrimitives.Sqrt(l, l);
        return local;
    }
}
