namespace EmMask.Core.Progress;

/// <summary>
/// One progress update for long work: the stage being run and how far the whole job is (0..1).
/// Reported through <see cref="IProgress{T}"/>; a caller that wants to stop cancels its <see cref="CancellationToken"/>.
/// </summary>
/// <param name="Stage">Short human-readable stage name ("gaussian", "labeling", "window 12/80").</param>
/// <param name="Fraction">Fraction of the whole job done, 0..1, non-decreasing.</param>
public readonly record struct ProgressReport(string Stage, double Fraction);
