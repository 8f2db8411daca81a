using EmMask.Core.Volumes;

namespace EmMask.Core.Inference;

/// <summary>
/// The working memory of the U-Net run in memory (the classical envelope, the sliding window at the working scale and
/// at twice it, the probabilities), from which the CLI sends it block by block under a budget. Measured on 2026-12-07
/// (peak RSS, default options, shipped model, 2 cores; phantoms): as a volume 32×256² 0.35 GB, 64×384² 0.81 GB,
/// 128×384² 1.33 GB (about 55 bytes per voxel over a fixed part); section by section 4×1024² 1.74 GB and 8×1024²
/// 1.94 GB (about 48 bytes per voxel, and 1240 per voxel of one section: its stack of copies and their windows).
/// The constants hold some margin over these.
/// </summary>
public static class UNetMemory
{
    /// <summary>The part that does not grow with the volume: libtorch, the model, the runtime.</summary>
    public const long FixedBytes = 256L << 20;

    /// <summary>Bytes per voxel of a volume predicted as one (3D windows).</summary>
    public const int VolumeBytesPerVoxel = 64;

    /// <summary>Bytes per voxel of a stack predicted section by section (the held volumes).</summary>
    public const int SectionsBytesPerVoxel = 56;

    /// <summary>Bytes per voxel of one section of a stack predicted section by section (its copies and their windows, at both scales).</summary>
    public const int SectionBytesPerVoxel = 1400;

    /// <summary>
    /// Bytes per voxel of the whole volume held while the block-wise U-Net builds its tissue envelope: the classical
    /// mask (its blocks and the assembled volume), the valid voxels, the growth's scratch and the envelope and core.
    /// </summary>
    public const int EnvelopeHeldBytesPerVoxel = 8;

    /// <summary>
    /// Bytes per voxel of the whole volume held while the blocks run: the tissue envelope and the classical core, and
    /// what the runtime keeps of the envelope's scratch (measured on 2026-12-07: about 4 on 256×1024², 0–2 on smaller
    /// volumes).
    /// </summary>
    public const int BlocksHeldBytesPerVoxel = 4;

    /// <summary>
    /// Bytes per voxel of a block's read region predicted as a volume (measured on 2026-12-07 from block-wise runs on
    /// 64×768², 128×384² and 256×1024² phantoms: 53–58; the in-memory rate, <see cref="VolumeBytesPerVoxel"/>, is kept as
    /// the margin).
    /// </summary>
    public const int BlockVolumeBytesPerVoxel = VolumeBytesPerVoxel;

    /// <summary>The size divisor of the shipped models (their smallest window), which decides a stack's mode before a model is loaded.</summary>
    public const int ShippedSizeDivisor = 16;

    /// <summary>The in-memory U-Net's need for a volume of <paramref name="shape"/> and <paramref name="voxel"/> under <paramref name="stack"/>.</summary>
    public static long InMemoryBytes(Shape3 shape, VoxelSize voxel, StackMode stack = StackMode.Auto) =>
        StackModes.UseSections(stack, shape, voxel, ShippedSizeDivisor)
            ? FixedBytes + (shape.Length * SectionsBytesPerVoxel) + ((long)shape.SliceLength * SectionBytesPerVoxel)
            : FixedBytes + (shape.Length * VolumeBytesPerVoxel);

    /// <summary>The need of one block whose read region is <paramref name="read"/>, predicted section by section or as a volume, without the fixed part.</summary>
    public static long BlockBytes(Shape3 read, bool sections) =>
        sections ? (read.Length * SectionsBytesPerVoxel) + ((long)read.SliceLength * SectionBytesPerVoxel) : read.Length * BlockVolumeBytesPerVoxel;

    /// <summary>
    /// The U-Net's need block by block on a volume of <paramref name="shape"/>: the fixed part and the larger of its two
    /// phases: building the envelope (<see cref="EnvelopeHeldBytesPerVoxel"/> of the whole volume; the classical blocks
    /// take what the budget leaves), and running the blocks (<see cref="BlocksHeldBytesPerVoxel"/> of the whole volume,
    /// one block's read region <paramref name="read"/>, and the layers of sections the writer holds:
    /// <paramref name="layerBytes"/> per voxel of <paramref name="coreDepth"/> whole sections).
    /// </summary>
    public static long BlockwiseBytes(Shape3 shape, Shape3 read, bool sections, int coreDepth, int layerBytes) =>
        FixedBytes + Math.Max(
            shape.Length * EnvelopeHeldBytesPerVoxel,
            (shape.Length * BlocksHeldBytesPerVoxel) + BlockBytes(read, sections) + ((long)layerBytes * Math.Min(coreDepth, shape.Z) * shape.SliceLength));
}
