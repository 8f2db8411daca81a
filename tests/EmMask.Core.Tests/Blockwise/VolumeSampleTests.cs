using EmMask.Core.Blockwise;
using EmMask.Core.Masking;
using EmMask.Core.Phantom;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Blockwise;

/// <summary>The sample a plan is measured on: the whole volume up to the limit, else cubes, or whole sections for a stack masked section by section.</summary>
public class VolumeSampleTests
{
    [Fact]
    public void ASmallVolumeIsItsOwnSample()
    {
        var shape = new Shape3(32, 256, 256);
        Assert.Equal([((0, 0, 0), shape)], VolumeSample.Boxes(shape, wholeSections: true));
        Assert.Equal([((0, 0, 0), shape)], VolumeSample.Boxes(shape));
    }

    [Fact]
    public void ALargeStackMaskedSectionBySectionIsSampledByWholeSectionsSpreadOverZ()
    {
        var shape = new Shape3(400, 1024, 1024); // 1 M voxels per section: 8 fit in the limit
        var boxes = VolumeSample.Boxes(shape, wholeSections: true);
        Assert.Equal(8, boxes.Count);
        Assert.All(boxes, b => Assert.Equal(new Shape3(1, 1024, 1024), b.Size));
        Assert.Equal([24, 74, 124, 174, 224, 274, 324, 374], boxes.Select(b => b.Offset.Z)); // centred cells
        Assert.All(VolumeSample.Boxes(shape), b => Assert.Equal(128, b.Size.Y)); // cubes otherwise

        // Sections larger than the limit: cubes whatever the mode.
        Assert.All(VolumeSample.Boxes(new Shape3(4, 4096, 4096), wholeSections: true), b => Assert.True(b.Size.Y < 4096));
    }

    [Fact]
    public void ALargeSectionIsSampledBySquaresSideBySideSoThatTheSampleIsASection()
    {
        var shape = new Shape3(1, 3000, 4000);
        var boxes = VolumeSample.Boxes(shape);
        Assert.Equal(4, boxes.Count);
        Assert.All(boxes, b => Assert.Equal(new Shape3(1, 1448, 1448), b.Size));
        var raw = new Volume<ushort>(shape);
        var r = raw.Span;
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = (ushort)(i % 65521);
        }

        var sample = (Volume<ushort>)VolumeSample.Read(new VolumeBlockSource(raw));
        Assert.Equal(new Shape3(1, 1448, 4 * 1448), sample.Shape);
        for (int k = 0; k < boxes.Count; k++)
        {
            var (_, y0, x0) = boxes[k].Offset;
            foreach (int y in new[] { 0, 700, 1447 })
            {
                Assert.Equal(raw.Row(0, y0 + y).Slice(x0, 1448).ToArray(), sample.Row(0, y).Slice(k * 1448, 1448).ToArray());
            }
        }
    }

    [Fact]
    public void ABudgetAsksForASmallerSampleOfALargeSectionWithinItsBounds()
    {
        // The tiled plan's sample holds the budget (160 bytes per voxel while the plan is measured), between 1 Mvoxel and
        // the usual limit: 1 GiB gives 6.7 Mvoxels (four squares of 1295²), 2 GiB the usual 8 Mvoxels.
        Assert.Equal((1L << 30) / ClassicalBlockwise.PlanBytesPerVoxel, ClassicalBlockwise.SampleFor(1L << 30));
        Assert.Equal(VolumeSample.Limit, ClassicalBlockwise.SampleFor(2L << 30));
        Assert.Equal(ClassicalBlockwise.MinimumSample, ClassicalBlockwise.SampleFor(8L << 20));
        var boxes = VolumeSample.Boxes(new Shape3(1, 6000, 6000), limit: ClassicalBlockwise.SampleFor(1L << 30));
        Assert.Equal(4, boxes.Count);
        Assert.All(boxes, b => Assert.Equal(new Shape3(1, 1295, 1295), b.Size));
        Assert.True(boxes.Sum(b => b.Size.Length) <= (1L << 30) / ClassicalBlockwise.PlanBytesPerVoxel);
    }

    [Fact]
    public void TheClassicalSampleFollowsTheMode()
    {
        var options = ClassicalMaskOptions.Default;
        var anisotropic = new VoxelSize(40, 4, 4); // ssTEM: section by section
        Assert.Equal(1, ClassicalMasker.SampleBoxes(new Shape3(400, 1024, 1024), anisotropic, options)[0].Size.Z);
        Assert.Equal(128, ClassicalMasker.SampleBoxes(new Shape3(400, 1024, 1024), VoxelSize.Isotropic, options)[0].Size.Y);
    }

    /// <summary>
    /// 130 sections of 256² (8.5 M voxels, over the limit) in 2D mode: the in-memory run measures its plan on 128 whole
    /// sections as the block-wise run does, and both give the same mask.
    /// </summary>
    [Fact]
    public void ALargeStackInMemoryAndBlockwiseMeasureTheSameSectionsAndAgree()
    {
        var raw = EmPhantom.Generate(new PhantomOptions { Seed = 3, Shape = new Shape3(130, 256, 256) }).Raw;
        var options = ClassicalMaskOptions.Default with { Mode = MaskingMode.TwoD };
        var source = new VolumeBlockSource(raw);
        Assert.Equal(128, ClassicalMasker.ReadSample(source, options).Shape.Z);
        var expected = ClassicalMasker.Run(raw, options).Mask;
        var plan = ClassicalBlockwise.Plan(source, options);
        var grid = ClassicalBlockwise.Grid(raw.Shape, plan, options, 128);
        Assert.True(grid.Count > 1, $"{grid.Count} blocks");
        var mask = ClassicalBlockwise.Run(source, new MemoryBlockStore(), grid, plan, options).ToVolume();
        Assert.Equal(expected.Span.ToArray(), mask.Span.ToArray());
    }
}
