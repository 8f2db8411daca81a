using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// 2D mode: a stack masked section by section, each section measuring its own working level and threshold, and a
/// section that does not separate taking the level and threshold its stack agrees on (<see cref="SectionConsensus"/>).
/// </summary>
public static partial class ClassicalMasker
{
    /// <summary>
    /// 2D mode: each section masked on its own, in place of its planes of <paramref name="mask"/> and
    /// <paramref name="confidence"/>. A section whose histogram does not separate takes the stack's level and threshold
    /// (<see cref="SectionConsensus"/>): the plan's, or, without a plan, the one its sections agree on, measured first
    /// (those sections wait, with their measurements, until every section has been measured).
    /// </summary>
    private static bool[] RunSections(Volume<float> n, Volume<byte>? valid, ClassicalMaskOptions options, ClassicalPlan? plan, Volume<byte> mask, Volume<float> confidence, List<VolumeOutcome> outcomes, IProgress<ProgressReport>? progress, CancellationToken ct)
    {
        var shape = n.Shape;
        var resinKnown = new bool[shape.Z];
        int plane = shape.SliceLength;
        var consensus = plan?.Consensus;
        bool agreeFirst = plan is null && options.Threshold is null;
        var verdicts = new List<SectionVerdict>();
        var waiting = new List<(int Z, Volume<float> Image, Volume<byte>? Ok, VolumePlan Plan, LevelMaps Chosen)>();

        // Sections that waited finish without reporting progress (their fractions would go back).
        void Finish(int z, Volume<float> image, Volume<byte>? ok, VolumePlan p, LevelMaps chosen, IProgress<ProgressReport>? scaled)
        {
            var section = new Shape3(1, shape.Y, shape.X);
            var sectionMask = new Volume<byte>(section);
            var sectionConfidence = new Volume<float>(section);
            resinKnown[z] = ClassicalMasker.Finish(image, ok, options, p, chosen, BlockPlacement.Whole(section), sectionMask, sectionConfidence, final: true, scaled, ct);
            sectionMask.Span.CopyTo(mask.Span.Slice(z * plane, plane));
            sectionConfidence.Span.CopyTo(confidence.Span.Slice(z * plane, plane));
            outcomes.Add(p.Outcome with { Section = z });
        }

        foreach (var (z, image, ok) in Sections(n, valid, ct))
        {
            var scaled = progress is null ? null : new SectionProgress(progress, z, shape.Z);
            var (p, chosen, verdict) = MeasureVolume(image, ok, options, scaled, ct);
            verdicts.Add(verdict);
            if (agreeFirst && !verdict.Separated)
            {
                waiting.Add((z, image, ok, p, chosen));
                continue;
            }

            (p, chosen) = Agree(image, ok, options, p, chosen, consensus, ct);
            Finish(z, image, ok, p, chosen, scaled);
        }

        consensus = agreeFirst ? SectionConsensus.From(verdicts) : consensus;
        foreach (var (z, image, ok, p, chosen) in waiting)
        {
            var (agreed, maps) = Agree(image, ok, options, p, chosen, consensus, ct);
            Finish(z, image, ok, agreed, maps, null);
        }

        return resinKnown;
    }

    /// <summary>
    /// The sections of a normalised stack that hold valid voxels (of <paramref name="only"/>, in its order, when given),
    /// each as its own volume (a copy) with its valid voxels.
    /// </summary>
    private static IEnumerable<(int Z, Volume<float> Image, Volume<byte>? Ok)> Sections(Volume<float> n, Volume<byte>? valid, CancellationToken ct, IEnumerable<int>? only = null)
    {
        var shape = n.Shape;
        int plane = shape.SliceLength;
        var section = new Shape3(1, shape.Y, shape.X);
        foreach (int z in only ?? Enumerable.Range(0, shape.Z))
        {
            ct.ThrowIfCancellationRequested();
            var ok = valid is null ? null : new Volume<byte>(section, valid.Memory.Slice(z * plane, plane).ToArray());
            if (ok is not null && ok.Span.IndexOfAnyExcept((byte)0) < 0)
            {
                continue; // a section of padding only: all non-brain
            }

            yield return (z, new Volume<float>(section, n.Memory.Slice(z * plane, plane).ToArray(), n.VoxelSize), ok);
        }
    }

    /// <summary>Sections sampled, evenly spaced, to confirm a 3D volume's separation (<see cref="SectionsConfirm"/>).</summary>
    internal const int ConfirmingSections = 8;

    /// <summary>
    /// Whether a 3D volume's separation shows in its sections: of <see cref="ConfirmingSections"/> evenly spaced sections
    /// (z_k = round(k·(Z − 1)/(<see cref="ConfirmingSections"/> − 1)); repeats and padding-only sections dropped), measured
    /// on their own as mode 2d does, at least half separate. Sections through resin and tissue separate; on tissue alone
    /// level 0 of a 3D pyramid can split flat cytoplasm from membranes (isotropic FIB-SEM of 64 sections lost 27.6 % of
    /// its tissue), while its sections do not. <paramref name="n"/> is the volume as <see cref="MeasureVolume"/> left it.
    /// </summary>
    private static bool SectionsConfirm(Volume<float> n, Volume<byte>? valid, ClassicalMaskOptions options, CancellationToken ct)
    {
        int last = n.Shape.Z - 1;
        var sampled = Enumerable.Range(0, ConfirmingSections)
            .Select(k => (int)(((2L * k * last) + ConfirmingSections - 1) / (2L * (ConfirmingSections - 1)))) // round(k·last/7)
            .Distinct();
        var verdicts = Sections(n, valid, ct, sampled).Select(s => MeasureVolume(s.Image, s.Ok, options, null, ct).Verdict).ToList();
        return verdicts.Count == 0 || 2 * verdicts.Count(v => v.Separated) >= verdicts.Count;
    }

    /// <summary>The level and threshold the sections of a normalised stack agree on (<see cref="SectionConsensus"/>), or null.</summary>
    private static SectionConsensus? MeasureConsensus(Volume<float> n, Volume<byte>? valid, ClassicalMaskOptions options, CancellationToken ct)
    {
        if (options.Threshold is not null || n.Shape.Z < 2)
        {
            return null;
        }

        var verdicts = Sections(n, valid, ct).Select(s => MeasureVolume(s.Image, s.Ok, options, null, ct).Verdict).ToList();
        return SectionConsensus.From(verdicts);
    }

    /// <summary>
    /// A section that did not separate takes the stack's level and threshold when <paramref name="consensus"/> admits it
    /// (<see cref="SectionConsensus"/>); <paramref name="n"/> is the section as <see cref="MeasureVolume"/> left it.
    /// </summary>
    private static (VolumePlan Plan, LevelMaps Chosen) Agree(Volume<float> n, Volume<byte>? valid, ClassicalMaskOptions options, VolumePlan plan, LevelMaps chosen, SectionConsensus? consensus, CancellationToken ct)
    {
        if (consensus is null || options.Threshold is not null || chosen.Separates)
        {
            return (plan, chosen);
        }

        var maps = chosen.Level == consensus.Level ? chosen : LevelMaps.Compute(n, valid, consensus.Level, plan.Noise, planar: true, options, ct);
        var (classes, stain, resin) = MeasureRules(maps, consensus.LogThreshold, options, planar: true, n.Shape, ct);
        if (!consensus.Admits(maps.ShareBelow(consensus.LogThreshold), classes))
        {
            return (plan, chosen);
        }

        return (plan with { Level = consensus.Level, LogThreshold = consensus.LogThreshold, Stain = stain, Resin = resin, FromStack = true }, maps);
    }

    /// <summary>Scales a section's progress into its share of the stack.</summary>
    private sealed class SectionProgress(IProgress<ProgressReport> inner, int index, int count) : IProgress<ProgressReport>
    {
        public void Report(ProgressReport value)
        {
            if (value.Stage == "done")
            {
                return;
            }

            inner.Report(new($"section {index + 1}/{count}: {value.Stage}", (index + value.Fraction) / count));
        }
    }
}
