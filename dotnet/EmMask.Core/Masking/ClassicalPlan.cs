using System.Globalization;
using System.Text.Json;

namespace EmMask.Core.Masking;

/// <summary>
/// What the classical masker measures once on a whole volume (or on a sample of it) and then holds fixed for every block
/// of that volume (<see cref="ClassicalMasker.Plan"/>, <see cref="ClassicalMasker.RunBlock"/>): blocks that measured these
/// on their own would each get their own contrast, noise and threshold, and the seams would show.
/// </summary>
public sealed class ClassicalPlan
{
    internal ClassicalPlan(IntensityNormalizer.IntensityMap intensity, MaskingMode mode, VolumePlan? volume, SectionConsensus? consensus = null)
    {
        Intensity = intensity;
        Mode = mode;
        Volume = volume;
        Consensus = consensus;
    }

    /// <summary>The intensity normalisation.</summary>
    public IntensityNormalizer.IntensityMap Intensity { get; }

    /// <summary>The resolved mode (never Auto): in 2D each section is masked on its own and measures the rest itself.</summary>
    public MaskingMode Mode { get; }

    /// <summary>The working pyramid level (3D), else null.</summary>
    public int? Level => Volume?.Level;

    /// <summary>The texture-to-noise threshold (3D), else null.</summary>
    public double? Threshold => Volume is { } v ? Math.Exp(v.LogThreshold) : null;

    /// <summary>The 3D measurements; null in 2D mode, or when the sample was constant or all padding.</summary>
    internal VolumePlan? Volume { get; }

    /// <summary>
    /// Whether the plan knows its section's resin (<see cref="KnownResin"/>, with the resin rule): the tiles of a section then
    /// code the material at the resin's intensity, and its border regions without any are filled as a whole section fills them.
    /// </summary>
    public bool KnowsSectionResin => Volume is { KnowsSectionResin: true };

    /// <summary>2D mode: the level and threshold the sample's sections agree on, for sections that do not separate on their own; null without one.</summary>
    internal SectionConsensus? Consensus { get; }

    /// <summary>The plan as JSON, to hand to the workers of a distributed run (<see cref="FromJson"/> reads it back exactly).</summary>
    public string ToJson()
    {
        var dto = new PlanDto(
            Intensity.Low, Intensity.High, Intensity.IsConstant, float.IsNaN(Intensity.Fill) ? null : Intensity.Fill, MaskingModes.Name(Mode),
            Volume is not { } v ? null : new VolumeDto(
                v.FillValue,
                v.Stabilizer is { } st ? new StabilizerDto(st.Low, st.Scale, st.Table) : null,
                v.Noise.WhiteSigma, v.Noise.Correlation, v.Level, v.LogThreshold,
                v.Stain is { } r ? [r.TissueMedian, r.ResinMedian, r.TissueSpread] : null,
                v.Resin is { } q ? [q.ResinMedian, q.ResinSpread, q.Window, q.TextureCeiling] : null,
                v.Separated,
                v.SectionResin is { } k ? [k.Median, k.Spread, k.Flat] : null),
            Consensus is { } c ? [c.Level, c.LogThreshold, c.Share, c.ResinMedian, c.TissueMedian] : null);
        return JsonSerializer.Serialize(dto);
    }

    /// <summary>Reads a plan written by <see cref="ToJson"/>.</summary>
    /// <exception cref="ArgumentException">Not a plan.</exception>
    public static ClassicalPlan FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        PlanDto dto;
        try
        {
            dto = JsonSerializer.Deserialize<PlanDto>(json) ?? throw new ArgumentException("The plan JSON is null.");
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"Not a classical plan: {ex.Message}", nameof(json), ex);
        }

        var mode = MaskingModes.Parse(dto.Mode);
        VolumePlan? volume = dto.Volume is not { } v ? null : new VolumePlan(
            v.FillValue,
            v.Stabilizer is { } st ? new StabilizingMap(st.Low, st.Scale, st.Table) : null,
            new NoiseModel(v.WhiteSigma, v.Correlation), v.Level, v.LogThreshold,
            v.Stain is { Length: 3 } r ? new StainRule.Reference(r[0], r[1], r[2]) : null,
            v.Resin is { Length: 4 } q ? new ResinRule.Reference(q[0], q[1], q[2], q[3]) : null,
            Separated: v.Separated,
            SectionResin: v.SectionResin is { Length: 3 } known ? new KnownResin(known[0], known[1], known[2]) : null);
        var consensus = dto.Consensus is { Length: 5 } k ? new SectionConsensus((int)k[0], k[1], k[2], k[3], k[4]) : null;
        return new ClassicalPlan(new IntensityNormalizer.IntensityMap(dto.Low, dto.High, dto.IsConstant, dto.Fill ?? float.NaN), mode, volume, consensus);
    }

    private sealed record PlanDto(double Low, double High, bool IsConstant, float? Fill, string Mode, VolumeDto? Volume, double[]? Consensus = null);

    private sealed record VolumeDto(float FillValue, StabilizerDto? Stabilizer, double WhiteSigma, double Correlation, int Level, double LogThreshold, float[]? Stain, float[]? Resin = null, bool Separated = true, float[]? SectionResin = null);

    private sealed record StabilizerDto(float Low, float Scale, float[] Table);

    /// <summary>One line that differs when any measured value differs (kept with a resumable run to check it is resumed under the same plan).</summary>
    public string Describe()
    {
        var c = CultureInfo.InvariantCulture;
        string text = string.Create(c, $"intensity {Intensity.Low:R}..{Intensity.High:R} constant {Intensity.IsConstant} fill {Intensity.Fill:R}; mode {MaskingModes.Name(Mode)}");
        if (Volume is { } v)
        {
            string stabilizer = v.Stabilizer is { } s ? string.Create(c, $"{s.Low:R}/{s.Scale:R}/{s.Table.Length}/{s.Table[^1]:R}") : "none";
            string stain = v.Stain is { } r ? string.Create(c, $"{r.TissueMedian:R}/{r.ResinMedian:R}/{r.TissueSpread:R}") : "none";
            string resin = v.Resin is { } q ? string.Create(c, $"{q.ResinMedian:R}/{q.ResinSpread:R}/{q.Window:R}/{q.TextureCeiling:R}") : "none";
            text += string.Create(c, $"; fill {v.FillValue:R}; stabiliser {stabilizer}; noise {v.Noise.WhiteSigma:R}/{v.Noise.Correlation:R}; level {v.Level}; log threshold {v.LogThreshold:R}; stain {stain}; resin {resin}");
            if (v.SectionResin is { } known)
            {
                text += string.Create(c, $"; section resin {known.Median:R}/{known.Spread:R}/{known.Flat:R}");
            }
        }

        if (Consensus is { } k)
        {
            text += string.Create(c, $"; sections agree on level {k.Level} log threshold {k.LogThreshold:R} share {k.Share:R} resin {k.ResinMedian:R} tissue {k.TissueMedian:R}");
        }

        return text;
    }
}

/// <summary>The 3D part of a <see cref="ClassicalPlan"/>.</summary>
/// <param name="FillValue">The value padding and NaN voxels take before filtering (median of the valid voxels).</param>
/// <param name="Stabilizer">The variance-stabilising map, or null when the noise is flat.</param>
/// <param name="Noise">The noise model after stabilisation.</param>
/// <param name="Level">The working pyramid level.</param>
/// <param name="LogThreshold">log of the texture-to-noise threshold.</param>
/// <param name="Stain">The stain rule's reference, or null when the rule does not apply.</param>
/// <param name="Resin">The resin rule's reference, or null when the rule does not apply.</param>
/// <param name="FromStack">The level and threshold are the stack's (<see cref="SectionConsensus"/>), not the section's own.</param>
/// <param name="Separated">The working level's texture histogram split into two classes, or the threshold was given; false: the unimodal threshold.</param>
/// <param name="SectionResin">A volume of one section masked in tiles: the section's resin intensity, measured on the sample (<see cref="KnownResin"/>); else null.</param>
internal sealed record VolumePlan(float FillValue, StabilizingMap? Stabilizer, NoiseModel Noise, int Level, double LogThreshold, StainRule.Reference? Stain, ResinRule.Reference? Resin = null, bool FromStack = false, bool Separated = true, KnownResin? SectionResin = null)
{
    /// <summary>The section's resin is known (<see cref="SectionResin"/>) and the resin rule applies (<see cref="ClassicalPlan.KnowsSectionResin"/>).</summary>
    public bool KnowsSectionResin => SectionResin is not null && Resin is not null;

    /// <summary>The plan in the form the notes describe.</summary>
    public ClassicalMasker.VolumeOutcome Outcome => new(Math.Exp(LogThreshold), Level, Noise, Stabilizer is not null, Resin is not null, FromStack, Separated);
}

/// <summary>Where a block lies in its volume (<see cref="ClassicalMasker.RunBlock"/>).</summary>
/// <param name="Origin">The read region's offset in the volume.</param>
/// <param name="Volume">The volume's shape.</param>
/// <param name="Core">The core's offset in the read region.</param>
/// <param name="CoreSize">The core's size.</param>
public sealed record BlockPlacement((int Z, int Y, int X) Origin, Volumes.Shape3 Volume, (int Z, int Y, int X) Core, Volumes.Shape3 CoreSize)
{
    /// <summary>A volume that is its own only block.</summary>
    public static BlockPlacement Whole(Volumes.Shape3 shape) => new((0, 0, 0), shape, (0, 0, 0), shape);
}
