namespace EmMask.Core.Masking;

/// <summary>
/// The working level and threshold the sections of a stack agree on in 2D mode, taken by a section whose own histogram
/// does not separate resin from tissue but which holds as much resin-like material as the sections that do.
/// </summary>
/// <remarks>
/// In 2D mode each section measures its own working level and threshold. At a coarse level a section's histogram holds
/// few cells (a 256² section at 8×: 1024), so a section whose resin and tissue do separate can fall just short of the
/// separability bar; it then takes the unimodal threshold (2), and textured resin becomes tissue in the whole section
/// (measured: Platynereis tissue on grainy resin, 9 of 32 sections, 0.749 against a bar of 0.75 in one of them). The
/// sections of one stack share their acquisition, so such a section takes the stack's level and threshold when
/// <list type="bullet">
/// <item>at least <see cref="Agreement"/> of the stack's sections, and at least <see cref="MinimumSeparated"/>, separated
/// (the level most of them chose, finer on a tie; the median of their thresholds at that level),</item>
/// <item>its own share of cells below that threshold, at that level, is at least <see cref="ShareFraction"/> of the
/// median share below their own threshold in the sections that separated at that level, and</item>
/// <item>the material below the threshold has the resin's intensity: its median (smoothed, at that level) lies nearer
/// the separating sections' median resin intensity than their median tissue intensity (the stain rule's classes).</item>
/// </list>
/// The last two conditions keep sections of tissue only on their own threshold: their weakly textured parts lie below
/// the stack's threshold too, but in far smaller numbers than resin does in the sections that separated (measured on
/// stacks of real all-tissue sections after tissue-on-resin sections: 0–8 % of cells at 8×, against 32–41 %; at half the
/// share, a fifth of the all-tissue sections would have taken the threshold and lost tissue), or, where the tissue is
/// weakly textured throughout (a phantom of tissue only after phantom sections on resin), at the tissue's intensity.
/// </remarks>
/// <param name="Level">The working level most separating sections chose.</param>
/// <param name="LogThreshold">The median log threshold of the separating sections at that level.</param>
/// <param name="Share">The median share of cells below their own threshold in those sections.</param>
/// <param name="ResinMedian">The median of their resin classes' median intensities.</param>
/// <param name="TissueMedian">The median of their tissue classes' median intensities.</param>
internal sealed record SectionConsensus(int Level, double LogThreshold, double Share, double ResinMedian, double TissueMedian)
{
    /// <summary>The smallest share of a stack's sections that must have separated for a consensus.</summary>
    public const double Agreement = 0.5;

    /// <summary>
    /// The fewest sections that must have separated: one section alone can split tissue of pale and dark parts as if it
    /// were resin and tissue (measured: a 64² crop of all-tissue MitoEM, whose two sections lost 44 % and 3 % of their
    /// tissue on their own, and 54 % together when the second took the first's threshold).
    /// </summary>
    public const int MinimumSeparated = 2;

    /// <summary>The share below the threshold a section needs, as a fraction of the separating sections' median share.</summary>
    public const double ShareFraction = 0.75;

    /// <summary>The consensus of a stack's sections (every section with valid voxels), or null without one.</summary>
    public static SectionConsensus? From(IReadOnlyList<SectionVerdict> verdicts)
    {
        ArgumentNullException.ThrowIfNull(verdicts);
        var separated = verdicts.Where(v => v.Separated).ToArray();
        if (separated.Length < MinimumSeparated || separated.Length < Agreement * verdicts.Count)
        {
            return null;
        }

        int level = separated.GroupBy(v => v.Level).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
        var atLevel = separated.Where(v => v.Level == level).ToArray();
        var classes = atLevel.Where(v => v.Classes is not null).Select(v => v.Classes!.Value).ToArray();
        if (classes.Length == 0)
        {
            return null; // no section measured its resin's intensity
        }

        return new SectionConsensus(
            level, LowerMedian(atLevel.Select(v => v.LogThreshold)), LowerMedian(atLevel.Select(v => v.Share)),
            LowerMedian(classes.Select(c => (double)c.ResinMedian)), LowerMedian(classes.Select(c => (double)c.TissueMedian)));
    }

    /// <summary>
    /// True when a section with this share of cells below <see cref="LogThreshold"/> (at <see cref="Level"/>), whose
    /// classes under that threshold are <paramref name="classes"/>, takes the consensus.
    /// </summary>
    public bool Admits(double share, StainRule.Reference? classes) =>
        share >= ShareFraction * Share && classes is { } c && Math.Abs(c.ResinMedian - ResinMedian) < Math.Abs(c.ResinMedian - TissueMedian);

    private static double LowerMedian(IEnumerable<double> values)
    {
        var a = values.Order().ToArray();
        return a[(a.Length - 1) / 2];
    }
}

/// <summary>What one section's own measurement decided (2D mode).</summary>
/// <param name="Separated">Its histogram separated resin from tissue at the chosen level (the automatic threshold is its valley).</param>
/// <param name="Level">The working level it chose.</param>
/// <param name="LogThreshold">The log threshold it chose.</param>
/// <param name="Share">The share of its threshold sample below that threshold.</param>
/// <param name="Classes">The intensities of its two classes under that threshold (the stain rule's reference), or null when they do not differ clearly.</param>
internal readonly record struct SectionVerdict(bool Separated, int Level, double LogThreshold, double Share, StainRule.Reference? Classes);
