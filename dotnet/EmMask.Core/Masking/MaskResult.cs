using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>The output of a masker.</summary>
/// <param name="Mask">1 = brain tissue, 0 = non-brain; same shape and voxel size as the input.</param>
/// <param name="Confidence">Per-voxel confidence that the voxel is tissue, 0..1; the mask is 1 where it is >= 0.5, before small regions are removed.</param>
/// <param name="Threshold">The texture-to-noise threshold used (the automatic one when none was given).</param>
/// <param name="Warnings">Things the user should know (constant volume, NaN voxels), one line each.</param>
/// <param name="Notes">Informational lines (for example how many windows a U-Net skipped).</param>
public sealed record MaskResult(Volume<byte> Mask, Volume<float> Confidence, double Threshold, IReadOnlyList<string> Warnings, IReadOnlyList<string>? Notes = null)
{
    /// <summary>
    /// Per section (2D mode), whether the classical masker knows the section's resin: its resin rule acts and marks at
    /// least <see cref="ClassicalMasker.ResinHoleCells"/> working-level cells. Null in 3D. The U-Net's envelope grows a
    /// section whose resin is known by half its margin (<see cref="TissueEnvelope.FromMask"/>).
    /// </summary>
    public IReadOnlyList<bool>? ResinKnown { get; init; }

    /// <summary>
    /// The voxels the classical masker measured (1), against padding and NaN voxels (0), which are never tissue; null
    /// when every voxel is valid. The U-Net's envelope leaves them out and keeps the classical call next to them
    /// (<see cref="TissueEnvelope.NextToPadding"/>); block-by-block runs assemble it (<see cref="Blockwise.BlockValidMap"/>).
    /// </summary>
    public Volume<byte>? Valid { get; init; }

    /// <summary>
    /// The sections (2D mode, in order) whose texture did not split into tissue and resin and that did not take their
    /// stack's threshold, so they were masked at the unimodal threshold (the note names them too): where to look first.
    /// Empty when every section split; null in 3D mode and where nothing was measured (a constant volume).
    /// </summary>
    public IReadOnlyList<int>? UnsplitSections { get; init; }
}
