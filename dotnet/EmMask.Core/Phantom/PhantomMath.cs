namespace EmMask.Core.Phantom;

/// <summary>
/// Shape functions built from +, ×, floor and sqrt only: those are exactly rounded by IEEE 754, whereas libm's
/// sin/exp may differ in the last bit between platforms, which would break byte-identical phantoms.
/// </summary>
internal static class PhantomMath
{
    public static float Clamp01(float v) => v < 0 ? 0 : v > 1 ? 1 : v;

    public static float Lerp(float a, float b, float t) => a + ((b - a) * t);

    public static float SmoothStep(float t)
    {
        t = Clamp01(t);
        return t * t * (3 - (2 * t));
    }

    /// <summary>A smooth-looking periodic wave in [−1, 1] with period 1 (two parabolic arcs, sine-like).</summary>
    public static float Wave(float t)
    {
        float f = t - MathF.Floor(t);
        float g = f < 0.5f ? f * 2 : (f - 0.5f) * 2;
        float arc = 4 * g * (1 - g);
        return f < 0.5f ? arc : -arc;
    }

    /// <summary>Periodic ridges: 1 on a narrow band once per period, 0 elsewhere, smooth edges.</summary>
    public static float Ridge(float t, float width)
    {
        float f = t - MathF.Floor(t);
        float d = MathF.Abs(f - 0.5f) * 2; // 0 at the ridge centre, 1 halfway between ridges
        return SmoothStep(1 - (d / width));
    }
}
