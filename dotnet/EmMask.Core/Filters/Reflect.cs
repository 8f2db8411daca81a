using System.Runtime.CompilerServices;
namespace EmMask.Core.Filters;

/// <summary>
/// scipy.ndimage's <c>mode='reflect'</c> boundary: half-sample symmetric extension "d c b a | a b c d | d c b a",
/// repeated with period 2n, so a line shorter than the kernel radius keeps reflecting exactly as scipy does.
/// </summary>
internal static class Reflect
{
    /// <summary>The index inside [0, n) that position <paramref name="i"/> of the extended line reads.</summary>
    public static int Index(int i, int n)
    {
        if ((uint)i < (uint)n)
        {
            return i;
        }

        int period = 2 * n;
        int m = i % period;
        if (m < 0)
        {
            m += period;
        }

        return m < n ? m : period - 1 - m;
    }

    /// <summary>
    /// Fills the <paramref name="before"/> and <paramref name="after"/> margins around the <paramref name="n"/>
    /// samples that start at <c>padded + before</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void PadLine(float* padded, int n, int before, int after)
    {
        float* data = padded + before;
        for (int j = 1; j <= before; j++)
        {
            data[-j] = data[Index(-j, n)];
        }

        for (int j = 0; j < after; j++)
        {
            data[n + j] = data[Index(n + j, n)];
        }
    }
}
