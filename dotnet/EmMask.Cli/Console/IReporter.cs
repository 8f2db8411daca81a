using EmMask.Core.Progress;

namespace EmMask.Cli.Console;

/// <summary>Human-facing output of the CLI: progress and messages go to stderr, machine output (--json) to stdout.</summary>
public interface IReporter
{
    /// <summary>Runs long work with a progress display (nothing shown when quiet).</summary>
    T Run<T>(string title, Func<IProgress<ProgressReport>, T> work);

    /// <summary>An informational line (suppressed when quiet).</summary>
    void Info(string message);

    /// <summary>A warning line (always shown).</summary>
    void Warn(string message);

    /// <summary>An error line (always shown).</summary>
    void Error(string message);

    /// <summary>Machine-readable output on stdout.</summary>
    void Json(string json);
}
