namespace EmMask.Core.Masking;

/// <summary>Order statistics without a full sort (deterministic quickselect, median of three).</summary>
internal static class Select
{
    /// <summary>The lower median, element (n-1)/2 of the sorted values; reorders <paramref name="values"/>.</summary>
    public static float Median(float[] values) => Nth(values, (values.Length - 1) / 2);

    /// <summary>The k-th smallest element; reorders <paramref name="values"/>.</summary>
    public static float Nth(float[] values, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(k, values.Length);
        int lo = 0, hi = values.Length - 1;
        while (hi > lo)
        {
            int mid = lo + ((hi - lo) / 2);
            float a = values[lo], b = values[mid], c = values[hi];
            float pivot = Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
            int i = lo, j = hi;
            while (i <= j)
            {
                while (values[i] < pivot)
                {
                    i++;
                }

                while (values[j] > pivot)
                {
                    j--;
                }

                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
                    i++;
                    j--;
                }
            }

            if (k <= j)
            {
                hi = j;
            }
            else if (k >= i)
            {
                lo = i;
            }
            else
            {
                return values[k];
            }
        }

        return values[k];
    }
}
