using EmMask.Core.Progress;

namespace EmMask.Core.Tests;

/// <summary>A part of a job reports its share of the whole, in order, on the caller's thread.</summary>
public class ProgressRangeTests
{
    [Fact]
    public void MapsThePartsFractionIntoItsRangeAndPrefixesTheStage()
    {
        var seen = new List<ProgressReport>();
        var whole = new Recorder(seen);
        var part = ProgressRange.Of(whole, 0.85, 0.15, "wider view: ")!;
        part.Report(new("window 1/4", 0.25));
        part.Report(new("window 4/4", 1.0));
        part.Report(new("overshoot", 1.5));

        Assert.Equal(["wider view: window 1/4", "wider view: window 4/4", "wider view: overshoot"], seen.Select(r => r.Stage));
        Assert.Equal(0.85 + (0.15 * 0.25), seen[0].Fraction, 12);
        Assert.Equal(1.0, seen[1].Fraction, 12);
        Assert.Equal(1.0, seen[2].Fraction, 12); // clamped: the whole job never passes 1
        Assert.Null(ProgressRange.Of(null, 0, 1));
    }

    private sealed class Recorder(List<ProgressReport> seen) : IProgress<ProgressReport>
    {
        public void Report(ProgressReport value) => seen.Add(value);
    }
}
