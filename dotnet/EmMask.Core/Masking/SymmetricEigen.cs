using System.Numerics;
using System.Runtime.CompilerServices;

namespace EmMask.Core.Masking;

/// <summary>
/// Smallest eigenvalue of symmetric 3×3 matrices, eight (one vector of) voxels at a time, by the trigonometric closed form
/// with polynomial acos and cos: everything stays in registers, where the element-wise version made some 35 passes over
/// scratch buffers and a scalar acos (10 ns per voxel).
/// </summary>
internal static class SymmetricEigen
{
    private const float Third = 1f / 3f;
    private const float HalfPi = MathF.PI / 2f;

    /// <summary>λ_min of [[a, d, e], [d, b, f], [e, f, c]] per lane: q + 2p·cos(acos(r)/3 + 2π/3), written as q − 2p·cos(π/3 − acos(r)/3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Smallest(Vector<float> a, Vector<float> b, Vector<float> c, Vector<float> d, Vector<float> e, Vector<float> f) =>
        Smallest(a, b, c, d, e, f, 0f);

    /// <summary>
    /// λ_min, and with <paramref name="isotropy"/> ρ₀ &gt; 0 scaled by min(1, λ_min / (ρ₀·λ_max))³ (<see cref="Penalise"/>), where
    /// λ_max = q + 2p·cos(acos(r)/3).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Smallest(Vector<float> a, Vector<float> b, Vector<float> c, Vector<float> d, Vector<float> e, Vector<float> f, float isotropy)
    {
        var q = (a + b + c) * new Vector<float>(Third);
        a -= q;
        b -= q;
        c -= q;

        // p² = tr((M − qI)²) / 6
        var p2 = ((d * d) + (e * e) + (f * f)) * new Vector<float>(2f);
        p2 = Vector.FusedMultiplyAdd(a, a, p2);
        p2 = Vector.FusedMultiplyAdd(b, b, p2);
        p2 = Vector.FusedMultiplyAdd(c, c, p2);
        p2 = Vector.Max(p2 * new Vector<float>(1f / 6f), new Vector<float>(1e-30f));
        var p = Vector.SquareRoot(p2);

        // det(M − qI) = a(bc − f²) − d(dc − fe) + e(df − be)
        var det = a * ((b * c) - (f * f));
        det -= d * ((d * c) - (f * e));
        det = Vector.FusedMultiplyAdd(e, (d * f) - (b * e), det);
        var r = det / (new Vector<float>(2f) * p2 * p);
        r = Vector.Min(Vector.Max(r, new Vector<float>(-1f)), Vector<float>.One);

        var theta = Acos(r) * new Vector<float>(Third);
        var twoP = new Vector<float>(2f) * p;
        var smallest = q - (twoP * CosNearZero(new Vector<float>(MathF.PI / 3f) - theta));
        return isotropy > 0 ? Penalise(smallest, q + (twoP * CosNearZero(theta)), isotropy) : smallest;
    }

    /// <summary>
    /// λ_min·m³ with m = min(1, λ_min / (ρ₀·λ_max)): a tensor less isotropic than ρ₀ loses texture credit (in the masker's
    /// log ratio, ½·log λ, that is 1.5·log m). Negative round-off in λ_min becomes 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Penalise(Vector<float> smallest, Vector<float> largest, float isotropy)
    {
        var lo = Vector.Max(smallest, Vector<float>.Zero);
        var m = Vector.Min(Vector<float>.One, lo / Vector.Max(largest * new Vector<float>(isotropy), new Vector<float>(1e-30f)));
        return lo * (m * m * m);
    }

    /// <summary>acos on [−1, 1] (Cephes acosf: asin polynomial on |x| ≤ ½, half-angle form above); error ~1e-7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Acos(Vector<float> x)
    {
        var ax = Vector.Abs(x);
        var big = Vector.GreaterThan(ax, new Vector<float>(0.5f));
        var z = Vector.ConditionalSelect(big, (Vector<float>.One - ax) * new Vector<float>(0.5f), x * x);
        var s = Vector.ConditionalSelect(big, Vector.SquareRoot(z), x);
        var poly = new Vector<float>(4.2163199048e-2f);
        poly = Vector.FusedMultiplyAdd(poly, z, new Vector<float>(2.4181311049e-2f));
        poly = Vector.FusedMultiplyAdd(poly, z, new Vector<float>(4.5470025998e-2f));
        poly = Vector.FusedMultiplyAdd(poly, z, new Vector<float>(7.4953002686e-2f));
        poly = Vector.FusedMultiplyAdd(poly, z, new Vector<float>(1.6666752422e-1f));
        var asin = Vector.FusedMultiplyAdd(s * z, poly, s); // asin(s)
        var twice = asin + asin;
        var large = Vector.ConditionalSelect(Vector.LessThan(x, Vector<float>.Zero), new Vector<float>(MathF.PI) - twice, twice);
        return Vector.ConditionalSelect(big, large, new Vector<float>(HalfPi) - asin);
    }

    /// <summary>cos on [0, π/3] by its Taylor series to the ψ¹⁰ term (error below 4e-9 there).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> CosNearZero(Vector<float> psi)
    {
        var y = psi * psi;
        var c = new Vector<float>(-1f / 3628800f);
        c = Vector.FusedMultiplyAdd(c, y, new Vector<float>(1f / 40320f));
        c = Vector.FusedMultiplyAdd(c, y, new Vector<float>(-1f / 720f));
        c = Vector.FusedMultiplyAdd(c, y, new Vector<float>(1f / 24f));
        c = Vector.FusedMultiplyAdd(c, y, new Vector<float>(-0.5f));
        return Vector.FusedMultiplyAdd(c, y, Vector<float>.One);
    }
}
