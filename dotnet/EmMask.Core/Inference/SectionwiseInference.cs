using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.Core.Inference;

/// <summary>
/// The 2-D fall-back of <see cref="SlidingWindowInferer"/> for thin and strongly anisotropic stacks: each section is
/// predicted on its own. It is copied into <see cref="SlidingWindowOptions.SectionDepth"/> identical sections (32 by
/// default; a 3-D network needs a depth that survives its poolings; a single section padded with zeros would be mostly padding, and a
/// real neighbour 40 nm away is unlike the 16 nm neighbours the network learnt), the copy goes through the usual
/// sliding window, and the middle plane is that section's answer. The training side shows the network such stacks
/// (<c>AugmentationOptions.PlanarProbability</c>, and thin volumes as sections).
/// </summary>
/// <remarks>
/// <para>Working scale: the factor applies in-plane only (z is not downsampled); see
/// <see cref="WorkingScale.FromVoxelSize"/>, which uses the in-plane spacing for such stacks.</para>
/// <para>Windows: <see cref="SlidingWindowOptions.SectionDepth"/> deep and wider in-plane than
/// <see cref="SlidingWindowOptions.RoiSize"/> so that a window holds about as many voxels: √(roi z / depth) times its
/// y and x, rounded up to the pad multiple (64³ → 32×96×96).</para>
/// <para>Test-time flips: mirroring z changes nothing in a stack of copies, so 4 or 8 flips mean the 4 in-plane
/// mirrorings (none, y, x, y and x).</para>
/// </remarks>
internal static class SectionwiseInference
{
    /// <summary>The in-plane flip sets used for test-time augmentation of sections.</summary>
    internal static readonly bool[][] InPlaneFlips =
        [[false, false, false], [false, true, false], [false, false, true], [false, true, true]];

    /// <summary>The window used for each stack of copies.</summary>
    public static Shape3 SectionWindow(SlidingWindowOptions options)
    {
        int depth = Depth(options);
        double widen = Math.Sqrt(Math.Max(1.0, (double)options.RoiSize.Z / depth));
        int m = Math.Max(1, options.PadMultiple);
        int Widen(int n) => (int)Math.Ceiling(n * widen / m) * m;
        return new Shape3(depth, Widen(options.RoiSize.Y), Widen(options.RoiSize.X));
    }

    /// <summary>Predicts every section of <paramref name="input"/>; arguments as <see cref="SlidingWindowInferer.Run"/>.</summary>
    public static SlidingWindowResult Run(
        Volume<float> input,
        IPatchPredictor predictor,
        SlidingWindowOptions options,
        IProgress<ProgressReport>? progress,
        CancellationToken cancellationToken,
        Volume<float>? skipScore,
        Volume<float>? destination)
    {
        Shape3 shape = input.Shape;
        int f = options.Scale, depth = Depth(options);
        if (options.TestTimeFlips > 1)
        {
            predictor = new FlipAveragingPredictor(predictor, InPlaneFlips);
        }

        var inner = options with
        {
            RoiSize = SectionWindow(options),
            Scale = 1,
            TestTimeFlips = 1,
            Stack = StackMode.Volume,
        };
        var output = destination ?? new Volume<float>(shape, input.VoxelSize);
        int plane = shape.Y * shape.X;
        int windows = 0, skipped = 0;
        for (int z = 0; z < shape.Z; z++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var section = Section(input, z);
            var score = skipScore is null ? null : Section(skipScore, z);
            if (f > 1)
            {
                section = VolumeResampling.MeanDownsample(section, f);
                score = score is null ? null : VolumeResampling.MaxDownsample(score, f);
            }

            var stack = Copies(section, depth);
            var stackScore = score is null ? null : Copies(score, depth);
            var result = SlidingWindowInferer.Run(stack, predictor, inner, null, cancellationToken, stackScore);
            windows += result.Windows;
            skipped += result.Skipped;
            var middle = Section(result.Probabilities, depth / 2);
            var target = output.Span.Slice(z * plane, plane);
            if (f > 1)
            {
                var full = new Volume<float>(new Shape3(1, shape.Y, shape.X));
                VolumeResampling.TrilinearUpsample(middle, full, f);
                full.Span.CopyTo(target);
            }
            else
            {
                middle.Span.CopyTo(target);
            }

            progress?.Report(new ProgressReport($"section {z + 1}/{shape.Z}", (double)(z + 1) / shape.Z));
        }

        output.VoxelSize = input.VoxelSize;
        return new SlidingWindowResult(output, windows, skipped);
    }

    private static int Depth(SlidingWindowOptions options)
    {
        int m = Math.Max(1, options.PadMultiple);
        return (options.SectionDepth + m - 1) / m * m;
    }

    private static Volume<float> Section(Volume<float> volume, int z)
    {
        Shape3 s = volume.Shape;
        int plane = s.Y * s.X;
        var section = new Volume<float>(new Shape3(1, s.Y, s.X), volume.VoxelSize);
        volume.Span.Slice(z * plane, plane).CopyTo(section.Span);
        return section;
    }

    private static Volume<float> Copies(Volume<float> section, int depth)
    {
        Shape3 s = section.Shape;
        int plane = s.Y * s.X;
        var stack = new Volume<float>(new Shape3(depth, s.Y, s.X), section.VoxelSize);
        for (int z = 0; z < depth; z++)
        {
            section.Span.CopyTo(stack.Span.Slice(z * plane, plane));
        }

        return stack;
    }
}
