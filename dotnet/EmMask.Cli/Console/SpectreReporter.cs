using EmMask.Core.Progress;
using Spectre.Console;

namespace EmMask.Cli.Console;

/// <summary>Spectre.Console implementation of <see cref="IReporter"/> writing to stderr.</summary>
public sealed class SpectreReporter : IReporter
{
    private readonly IAnsiConsole console;
    private readonly bool quiet;

    /// <summary>Creates a reporter; <paramref name="quiet"/> hides progress and info lines.</summary>
    public SpectreReporter(bool quiet)
    {
        this.quiet = quiet;
        console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Error) });
    }

    /// <inheritdoc/>
    public T Run<T>(string title, Func<IProgress<ProgressReport>, T> work)
    {
        if (quiet || !console.Profile.Capabilities.Interactive)
        {
            if (!quiet)
            {
                Info($"{title}...");
            }

            return work(new Progress<ProgressReport>(_ => { }));
        }

        T result = default!;
        console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(title), maxValue: 1.0);
                var sink = new SyncProgress(r =>
                {
                    task.Description = Markup.Escape($"{title}: {r.Stage}");
                    task.Value = Math.Clamp(r.Fraction, 0, 1);
                });
                result = work(sink);
                task.Value = 1.0;
            });
        return result;
    }

    // Lines are written plainly, not through Spectre: it wraps at the terminal width (80 when redirected), and scripts
    // expect one line per message.

    /// <inheritdoc/>
    public void Info(string message)
    {
        if (!quiet)
        {
            System.Console.Error.WriteLine(message);
        }
    }

    /// <inheritdoc/>
    public void Warn(string message) => System.Console.Error.WriteLine($"warning: {message}");

    /// <inheritdoc/>
    public void Error(string message) => System.Console.Error.WriteLine($"error: {message}");

    /// <inheritdoc/>
    public void Json(string json) => System.Console.Out.WriteLine(json);

    // Progress<T> posts to the thread pool; the display wants updates in order, on the caller's thread.
    private sealed class SyncProgress(Action<ProgressReport> handler) : IProgress<ProgressReport>
    {
        public void Report(ProgressReport value) => handler(value);
    }
}
