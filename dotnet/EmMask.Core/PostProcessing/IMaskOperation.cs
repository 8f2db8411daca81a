using EmMask.Core.Volumes;

namespace EmMask.Core.PostProcessing;

/// <summary>One in-place step of a <see cref="PostProcessPipeline"/>.</summary>
public interface IMaskOperation
{
    /// <summary>The op name as written in a spec ("open2d", "largest", ...).</summary>
    string Name { get; }

    /// <summary>Applies the step to <paramref name="mask"/> in place.</summary>
    void Apply(Volume<byte> mask, CancellationToken ct);

    /// <summary>The step as a spec token that <see cref="PostProcessPipeline.Parse"/> reads back to an equal operation.</summary>
    string ToSpec();
}
