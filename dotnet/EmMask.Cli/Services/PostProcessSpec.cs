using EmMask.Core.PostProcessing;

namespace EmMask.Cli.Services;

/// <summary>Resolves a <c>--postprocess</c> value: a preset name or an op list.</summary>
public static class PostProcessSpec
{
    /// <summary>A preset by name, else the parsed op list (ArgumentException when neither).</summary>
    public static PostProcessPipeline Resolve(string text)
    {
        string trimmed = text.Trim();
        return PostProcessPresets.All.TryGetValue(trimmed.ToLowerInvariant(), out var preset) ? preset : PostProcessPipeline.Parse(trimmed);
    }
}
