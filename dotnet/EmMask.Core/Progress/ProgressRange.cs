namespace EmMask.Core.Progress;

/// <summary>
/// Reports a part of a job as its share of the whole: the part's fraction f becomes <c>start + width · f</c>, and its
/// stage gets an optional prefix. Synchronous (unlike <see cref="Progress{T}"/> without a synchronisation context, which
/// posts to the thread pool and can deliver reports out of order).
/// </summary>
/// <param name="inner">Where the whole job's progress goes.</param>
/// <param name="start">The whole job's fraction when the part begins.</param>
/// <param name="width">The part's share of the whole job.</param>
/// <param name="prefix">Put before each stage name (e.g. "wider view: "), or null.</param>
public sealed class ProgressRange(IProgress<ProgressReport> inner, double start, double width, string? prefix = null) : IProgress<ProgressReport>
{
    /// <summary>The part's progress as the whole job's, or null when nobody listens.</summary>
    public static IProgress<ProgressReport>? Of(IProgress<ProgressReport>? inner, double start, double width, string? prefix = null) =>
        inner is null ? null : new ProgressRange(inner, start, width, prefix);

    /// <inheritdoc/>
    public void Report(ProgressReport value) =>
        inner.Report(new ProgressReport(prefix + value.Stage, start + (width * Math.Clamp(value.Fraction, 0, 1))));
}
