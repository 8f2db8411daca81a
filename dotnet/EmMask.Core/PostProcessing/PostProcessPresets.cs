namespace EmMask.Core.PostProcessing;

/// <summary>Named post-processing pipelines, selectable by name in the CLI and the plugin.</summary>
public static class PostProcessPresets
{
    private static readonly Dictionary<string, PostProcessPipeline> Presets = new(StringComparer.OrdinalIgnoreCase)
    {
        // Nothing: the thresholded model output as is.
        ["none"] = PostProcessPipeline.Parse("none"),

        // The reference recipe, in its order: per-slice opening r=3 voxels removes speckle and thin bridges, the largest
        // 6-connected component drops floating debris, 3D hole filling closes enclosed cavities, and a 15-unit dilation
        // (voxel-size units: 15 voxels at unit voxel size, 15 nm when the voxel size is in nm) adds a safety margin.
        ["reference"] = PostProcessPipeline.Parse("open2d:3,largest:1,fill3d,grow:15"),

        // Default for proofreading: a gentler per-slice opening (r=2 voxels) so fine tissue edges survive. No hole filling:
        // the classical masker fills enclosed holes itself (in 3D, or per section for thin or anisotropic stacks) except
        // those it knows are non-brain (flat resin between touching pieces of tissue, exact-constant padding), which a
        // second fill would close again; the U-Net's holes are the tracheae it found. It keeps every component: a crop
        // often cuts the CNS into separate lobes, and keeping only the largest would drop real tissue (the maskers already
        // remove regions under their minimum size). No growth, so the boundary stays where the method put it.
        ["clean"] = PostProcessPipeline.Parse("open2d:2"),

        // The reference recipe without the dilation: the same cleaning, boundary kept tight to the prediction.
        ["tight"] = PostProcessPipeline.Parse("open2d:3,largest:1,fill3d"),
    };

    /// <summary>
    /// All presets by name (case-insensitive): <c>none</c> (empty), <c>reference</c> (<c>open2d:3,largest:1,fill3d,grow:15</c>),
    /// <c>clean</c> (<c>open2d:2</c>, the proofreading default) and <c>tight</c> (<c>open2d:3,largest:1,fill3d</c>).
    /// </summary>
    public static IReadOnlyDictionary<string, PostProcessPipeline> All => Presets;

    /// <summary>The preset called <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid ones.</exception>
    public static PostProcessPipeline Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Presets.TryGetValue(name.Trim(), out var pipeline)
            ? pipeline
            : throw new ArgumentException($"Unknown post-processing preset '{name}'; valid presets: {string.Join(", ", Presets.Keys)}.");
    }
}
