using EmMask.Core.Volumes;

namespace EmMask.Core.Inference;

/// <summary>
/// Parameters of <see cref="SlidingWindowInferer"/>, with MONAI <c>sliding_window_inference</c> semantics for the
/// tiling and Gaussian blending.
/// </summary>
/// <param name="RoiSize">
/// Window size (z, y, x) in voxels of the working scale. Each axis is rounded up to a multiple of
/// <see cref="PadMultiple"/> and clamped to the (rounded-up) volume, so a thin stack is not padded to a deep window.
/// </param>
/// <param name="Overlap">Fraction of a window shared with its neighbour, 0 ≤ overlap &lt; 1 (MONAI default 0.25).</param>
/// <param name="BatchSize">Windows passed to the predictor per call (sw_batch_size), at least 1.</param>
/// <param name="Scale">
/// Integer working-scale factor F ≥ 1: the input is mean-downsampled by F on every axis, predicted, and the
/// probabilities are trilinearly upsampled back. F = 2 is about 8× less predictor work.
/// </param>
/// <param name="SkipThreshold">
/// When set, windows whose maximum skip score is below this value are treated as pure resin: they get
/// probability 0 without running the predictor. The score is the caller's <c>skipScore</c> volume, or else the
/// local standard deviation of the normalised input in a (2·<see cref="SkipRadius"/>+1)³ box.
/// </param>
/// <param name="SkipRadius">Half-width of the box for the built-in local standard deviation score, at least 1.</param>
/// <param name="SigmaScale">Gaussian blend sigma as a fraction of the window size per axis (MONAI 0.125).</param>
/// <param name="PadMultiple">Window axes are multiples of this (16 for a U-Net with four 2× poolings); 1 disables.</param>
/// <param name="ClampRoi">
/// True (default): a window axis longer than the volume shrinks to the volume rounded up to <see cref="PadMultiple"/>.
/// False: the volume is zero-padded to the full window, exactly as MONAI.
/// </param>
/// <param name="TestTimeFlips">
/// Test-time augmentation: 1 (off), 4 (also mirrored along z, y and x) or 8 (every combination of axes). Each window is
/// predicted once per flip and the probabilities averaged (<see cref="FlipAveragingPredictor"/>); costs that many
/// predictor calls.
/// </param>
/// <param name="Stack">
/// <see cref="StackMode.Auto"/> (default): section by section (<see cref="SectionwiseInference"/>) when the stack has
/// fewer sections than <see cref="PadMultiple"/> (the network's smallest window) or its z spacing (the input's
/// <see cref="Volume{T}.VoxelSize"/>) is at least twice the in-plane spacing; else one 3-D pass.
/// <see cref="StackMode.Volume"/> and <see cref="StackMode.Sections"/> force one or the other.
/// </param>
/// <param name="SectionDepth">
/// Section-wise only: how many copies of a section make the stack the network sees (rounded up to a multiple of
/// <see cref="PadMultiple"/>); its middle plane is the answer. Default 32: with 16 copies the network's deepest level
/// has a single plane, unlike the 48-deep 2-D patches it was trained on, and on the real-EM corpus 16 copies gave
/// non-brain IoU 0.24 on the SEM boundary image where 32, 48 and 64 gave 0.48, 0.47 and 0.52 (same model, one pass).
/// </param>
public sealed record SlidingWindowOptions(
    Shape3 RoiSize,
    double Overlap = 0.25,
    int BatchSize = 4,
    int Scale = 1,
    float? SkipThreshold = null,
    int SkipRadius = 2,
    double SigmaScale = 0.125,
    int PadMultiple = 16,
    bool ClampRoi = true,
    int TestTimeFlips = 1,
    StackMode Stack = StackMode.Auto,
    int SectionDepth = 32)
{
    /// <summary>Whether a stack of <paramref name="shape"/> and <paramref name="voxel"/> is predicted section by section (<see cref="Stack"/>).</summary>
    public bool UsesSections(Shape3 shape, VoxelSize voxel) => StackModes.UseSections(Stack, shape, voxel, PadMultiple);

    /// <summary>
    /// The window the network sees on such a stack, at the working scale: <see cref="RoiSize"/>, or section by section
    /// the stack of copies' wider window (<see cref="SectionwiseInference.SectionWindow"/>), before either is clamped to
    /// a smaller image.
    /// </summary>
    public Shape3 WindowFor(Shape3 shape, VoxelSize voxel) => UsesSections(shape, voxel) ? SectionwiseInference.SectionWindow(this) : RoiSize;

    /// <summary>Checks every parameter; throws <see cref="ArgumentOutOfRangeException"/> naming the bad one.</summary>
    public SlidingWindowOptions Validate()
    {
        if (RoiSize.Z < 1 || RoiSize.Y < 1 || RoiSize.X < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(RoiSize), RoiSize, "Every window axis must be at least 1.");
        }

        if (!(Overlap >= 0 && Overlap < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(Overlap), Overlap, "Overlap must be in [0, 1).");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(Scale, 1, nameof(Scale));
        ArgumentOutOfRangeException.ThrowIfLessThan(SkipRadius, 1, nameof(SkipRadius));
        ArgumentOutOfRangeException.ThrowIfLessThan(PadMultiple, 1, nameof(PadMultiple));
        if (!(SigmaScale > 0) || double.IsInfinity(SigmaScale))
        {
            throw new ArgumentOutOfRangeException(nameof(SigmaScale), SigmaScale, "Sigma scale must be a positive finite number.");
        }

        if (TestTimeFlips is not (1 or 4 or 8))
        {
            throw new ArgumentOutOfRangeException(nameof(TestTimeFlips), TestTimeFlips, "Test-time flips must be 1, 4 or 8.");
        }

        if (!Enum.IsDefined(Stack))
        {
            throw new ArgumentOutOfRangeException(nameof(Stack), Stack, "Stack mode must be Auto, Volume or Sections.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(SectionDepth, 1, nameof(SectionDepth));

        if (SkipThreshold is { } t && float.IsNaN(t))
        {
            throw new ArgumentOutOfRangeException(nameof(SkipThreshold), t, "Skip threshold must be a number.");
        }

        return this;
    }
}
