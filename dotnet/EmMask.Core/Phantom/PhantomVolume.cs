using EmMask.Core.Volumes;

namespace EmMask.Core.Phantom;

/// <summary>A generated phantom: uint8 raw intensities and the 0/1 ground truth (1 = brain tissue), same shape.</summary>
/// <param name="Raw">Synthetic EM intensities.</param>
/// <param name="Truth">1 where the voxel is brain tissue (glial sheath included); 0 for resin and tracheae (lumen and wall).</param>
public sealed record PhantomVolume(Volume<byte> Raw, Volume<byte> Truth);
