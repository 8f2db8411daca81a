using EmMask.Core.Volumes;

namespace EmMask.Core.Labeling;

/// <summary>The output of <see cref="ConnectedComponents.Label"/>.</summary>
/// <param name="Labels">Label per voxel: 0 for background, 1..<paramref name="Count"/> for components, numbered in scan order of their first voxel.</param>
/// <param name="Count">Number of components.</param>
/// <param name="Sizes">Voxels per label, length <paramref name="Count"/> + 1; <c>Sizes[0]</c> counts the background.</param>
public sealed record LabelResult(Volume<int> Labels, int Count, long[] Sizes);
