namespace EmMask.Core.Filters;

/// <summary>How many threads the filters use (<c>--threads</c>): one per core unless limited for the current flow.</summary>
public static class ComputeThreads
{
    /// <summary>Limits the filter threads of this async flow until the result is disposed.</summary>
    public static IDisposable Limit(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        return ParallelLines.LimitDegree(threads);
    }
}
