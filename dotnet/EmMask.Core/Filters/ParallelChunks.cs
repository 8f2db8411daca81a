namespace EmMask.Core.Filters;

/// <summary>
/// Element-wise work over a whole volume in fixed chunks on all cores: a single TensorPrimitives call over 16 M voxels
/// runs on one core. Chunk boundaries depend only on the length, so results never depend on the thread count.
/// </summary>
internal static class ParallelChunks
{
    /// <summary>Voxels per chunk: large enough to amortise scheduling, small enough to balance two to many cores.</summary>
    public const int ChunkLength = 1 << 16;

    /// <summary>Calls <paramref name="body"/>(start, count) for consecutive chunks of [0, <paramref name="length"/>).</summary>
    public static void For(int length, Action<int, int> body, CancellationToken cancellationToken)
    {
        int chunks = (int)(((long)length + ChunkLength - 1) / ChunkLength);
        if (chunks <= 1 || ParallelLines.Degree == 1)
        {
            for (int k = 0; k < chunks; k++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int start = k * ChunkLength;
                body(start, Math.Min(ChunkLength, length - start));
            }

            return;
        }

        var options = new ParallelOptions { MaxDegreeOfParallelism = ParallelLines.Degree, CancellationToken = cancellationToken };
        Parallel.For(0, chunks, options, k =>
        {
            int start = k * ChunkLength;
            body(start, Math.Min(ChunkLength, length - start));
        });
    }
}
