namespace EmMask.Core.Filters;

/// <summary>
/// A 1D filter applied along one axis by <see cref="SeparableFilter"/>. Output sample i reads input samples
/// i - <see cref="Before"/> .. i + <see cref="After"/> of the reflect-extended line.
/// </summary>
internal abstract unsafe class AxisKernel
{
    /// <summary>Samples read before the output position.</summary>
    public abstract int Before { get; }

    /// <summary>Samples read after the output position.</summary>
    public abstract int After { get; }

    /// <summary>True when the kernel leaves every line unchanged (e.g. a one-tap normalised Gaussian).</summary>
    public abstract bool IsIdentity { get; }

    /// <summary>True when the kernel leaves a line of length one unchanged (a smoothing kernel, unlike a derivative).</summary>
    public abstract bool PreservesConstants { get; }

    /// <summary>
    /// Filters across rows, vectorised along the row: output row i (at <c>output + i * outputStride</c>) combines the
    /// rows at <c>rows[i .. i + Before + After]</c>, each <paramref name="width"/> samples long. The caller resolves
    /// the reflect boundary when it fills <paramref name="rows"/>.
    /// </summary>
    public abstract void ConvolveRows(float** rows, int count, int width, float* output, long outputStride, LineScratch scratch);

    /// <summary>Filters one line: <paramref name="padded"/> holds Before + count + After samples, already reflect-padded.</summary>
    public abstract void ConvolveLine(float* padded, int count, float* output);
}
