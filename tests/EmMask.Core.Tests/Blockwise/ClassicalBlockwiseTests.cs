using EmMask.Core.Blockwise;
using EmMask.Core.Masking;
using EmMask.Core.Phantom;
using EmMask.Core.Volumes;
using Xunit.Abstractions;

namespace EmMask.Core.Tests.Blockwise;

/// <summary>The classical masker block by block against the same masker in memory.</summary>
public class ClassicalBlockwiseTests(ITestOutputHelper output)
{
    private static readonly ClassicalMaskOptions ThreeD = ClassicalMaskOptions.Default with { Mode = MaskingMode.ThreeD };

    // Store mechanics with blocks smaller than the defaults allow at level 0 (the trachea rule's reach, and the boundary
    // refinement's tiles of 128 voxels, to which blocks align): both off.
    private static readonly ClassicalMaskOptions SmallHalo = ThreeD with { Level = 0, TracheaGap = 0, RefineBoundary = false };

    [Fact]
    public void OneBlockIsExactlyTheInMemoryMask()
    {
        var raw = EmPhantom.Generate(new PhantomOptions { Seed = 7, Shape = new Shape3(48, 96, 96) }).Raw;
        var expected = ClassicalMasker.Run(raw, ThreeD).Mask;
        var source = new VolumeBlockSource(raw);
        var plan = ClassicalBlockwise.Plan(source, ThreeD);
        var grid = new BlockGrid(raw.Shape, raw.Shape, 0);
        var mask = ClassicalBlockwise.Run(source, new MemoryBlockStore(), grid, plan, ThreeD).ToVolume();
        Assert.Equal(expected.Span.ToArray(), mask.Span.ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)] // two scales, the resin weight from the whole volume (CoarseVote); its markers do not change this mask
    public void BlocksAgreeWithTheInMemoryMaskWhereTheResinRuleActs(int level)
    {
        // Shaded resin beside weakly textured tissue (ResinRuleTests' section, 40 deep), at the single-scale levels
        // where block halos matter: the rule's 3-box erosion adds one working-level voxel to the halo (which the halo's
        // slack of 2 would also cover: with ResinRule.Reach 0 this test still passes).
        var raw = level < 2 ? Masking.ResinRuleTests.ShadedResinBesideTissue(90, new Shape3(40, 96, 160)) : ResinChannel(new Shape3(32, 160, 288));
        var options = ThreeD with { Level = level, MinimumRegionSize = 0 };
        var expected = ClassicalMasker.Run(raw, options).Mask;
        var source = new VolumeBlockSource(raw);
        var plan = ClassicalBlockwise.Plan(source, options);
        Assert.NotNull(plan.Volume?.Resin);
        var grid = ClassicalBlockwise.Grid(raw.Shape, plan, options, 64);
        Assert.True(grid.Count > 1, $"{grid.Count} blocks");
        var mask = ClassicalBlockwise.Run(source, new MemoryBlockStore(), grid, plan, options).ToVolume();
        Assert.Equal(expected.Span.ToArray(), mask.Span.ToArray());
        var without = ClassicalMasker.Run(raw, options with { ResinWindow = 0 }).Mask;
        Assert.NotEqual(without.Span.ToArray(), expected.Span.ToArray());
    }

    // Shaded resin (128, noise 6, shading of correlation 8 and std 4) in the left 48 columns and in a channel 32 wide
    // (8 cells at level 2) through weakly textured tissue 40 darker.
    private static Volume<float> ResinChannel(Shape3 shape)
    {
        var v = Masking.TextureVolumes.Resin(95, shape);
        Masking.TextureVolumes.AddTexture(v, 0, shape.X, 8, 4, 98); // slow shading: texture at coarse levels
        var texture = Masking.TextureVolumes.Resin(96, shape);
        Masking.TextureVolumes.AddTexture(texture, 0, shape.X, 2, 10, 97);
        for (int z = 0; z < shape.Z; z++)
        {
            for (int y = 0; y < shape.Y; y++)
            {
                for (int x = 48; x < shape.X; x++)
                {
                    if (x is < 144 or >= 176)
                    {
                        v[z, y, x] = texture[z, y, x] - 40;
                    }
                }
            }
        }

        return v;
    }

    [Theory]
    [InlineData(11, 0, 64, 64, 192)]
    [InlineData(12, 1, 128, 64, 256)]
    [InlineData(21, 1, 128, 64, 256)]
    [InlineData(13, 2, 128, 96, 256)]
    [InlineData(14, 3, 128, 128, 256)]
    [InlineData(15, 2, 128, 96, 256, 40)]
    [InlineData(16, 1, 128, 64, 256, 40)]
    public void BlocksAgreeWithTheInMemoryMask(int seed, int level, int edge, int depth, int width, int padding = 0)
    {
        var options = ThreeD with { Level = level };
        var raw = EmPhantom.Generate(new PhantomOptions { Seed = seed, Shape = new Shape3(depth, width, width) }).Raw;
        for (int z = 0; z < depth; z++)
        {
            for (int y = 0; y < width; y++)
            {
                raw.Row(z, y)[..padding].Clear(); // exact-zero padding along one side, across every block row
            }
        }

        var expected = ClassicalMasker.Run(raw, options).Mask;
        var source = new VolumeBlockSource(raw);
        var plan = ClassicalBlockwise.Plan(source, options);
        var grid = ClassicalBlockwise.Grid(raw.Shape, plan, options, edge);
        Assert.True(grid.Count > 1, $"{grid.Count} blocks");
        var mask = ClassicalBlockwise.Run(source, new MemoryBlockStore(), grid, plan, options).ToVolume();
        long differ = 0, both = 0, sum = 0;
        var e = expected.Span;
        var m = mask.Span;
        for (int i = 0; i < e.Length; i++)
        {
            differ += e[i] != m[i] ? 1 : 0;
            both += e[i] & m[i];
            sum += e[i] + m[i];
        }

        double dice = sum == 0 ? 1 : 2.0 * both / sum;
        output.WriteLine($"level {level}: {grid.Count} blocks, halo {grid.Halo}, two-scale {ClassicalMasker.IsTwoScale(plan)}, {differ} of {e.Length} voxels differ, Dice {dice:F6}");
        Assert.True(differ == 0, $"Dice {dice:F6}, {differ} voxels differ");
    }

    /// <summary>
    /// A volume of one section in 3D mode is masked as a section in memory (section texture, pooling, hole filling);
    /// block by block it is the same section, tiled: the blocks measure texture as a section and the global hole filling
    /// has no z faces, so a flat hole inside the tissue is filled as in memory. The stain join (a step of 2D sections; a
    /// tiled 2D section runs it over its tiles: ATiledSectionJoinsStainedRegionsAsInMemory) is off, and so is the resin
    /// rule (with it: the next test).
    /// </summary>
    [Theory]
    [InlineData(null)]
    [InlineData(2)] // two scales: the coarse vote of the whole section
    public void ASectionIn3DModeIsMaskedBlockByBlockAsInMemory(int? level)
    {
        var raw = TextureWithAFlatHole();
        var options = ThreeD with { Level = level, StainJoin = 0, ResinWindow = 0 };
        var expected = ClassicalMasker.Run(raw, options).Mask;
        Assert.True(Masking.TextureVolumes.Mean(expected, 150, 190, (0, 1, 150, 190)) > 0.99, "the flat hole inside the tissue is filled in memory");
        Assert.True(Masking.TextureVolumes.Mean(expected, 0, 40) < 0.01, "the resin beside the tissue is non-brain");
        var source = new VolumeBlockSource(raw);
        var plan = ClassicalBlockwise.Plan(source, options);
        var grid = ClassicalBlockwise.Grid(raw.Shape, plan, options, 64);
        Assert.True(grid.Count > 1, $"{grid.Count} blocks");
        var mask = ClassicalBlockwise.Run(source, new MemoryBlockStore(), grid, plan, options).ToVolume();
        Assert.Equal(expected.Span.ToArray(), mask.Span.ToArray());
    }

    /// <summary>
    /// With the resin rule, the section's resin hole stays open in memory (it holds resin markers), and block by block
    /// too: the blocks code their resin-marked non-brain (<see cref="ClassicalMasker.ResinCode"/>) and the global hole
    /// filling counts them per hole (<see cref="ClassicalBlockwise.HolesOf"/>). The section's known resin, which in memory
    /// also refines the boundary (fine resin markers, the trim) and fills pale border regions, is measured on the plan's
    /// sample (<see cref="ClassicalPlan.KnowsSectionResin"/>), so the tiles give the in-memory mask voxel for voxel
    /// (before the plan carried it, voxels along the boundary differed: this test allowed up to 1 %).
    /// </summary>
    [Fact]
    public void ASectionsResinHoleStaysOpenBlockByBlockAsInMemory()
    {
        var raw = TextureWithAFlatHole();
        var options = ThreeD with { StainJoin = 0 };
        var expected = ClassicalMasker.Run(raw, options).Mask;
        Assert.True(Masking.TextureVolumes.Mean(expected, 160, 180, (0, 1, 160, 180)) < 0.01, "the resin hole stays open in memory");
        var source = new VolumeBlockSource(raw);
        var plan = ClassicalBlockwise.Plan(source, options);
        Assert.True(plan.KnowsSectionResin);
        var grid = ClassicalBlockwise.Grid(raw.Shape, plan, options, 64);
        Assert.True(grid.Count > 1, $"{grid.Count} blocks");
        var mask = ClassicalBlockwise.Run(source, new MemoryBlockStore(), grid, plan, options).ToVolume();
        Assert.True(Masking.TextureVolumes.Mean(mask, 160, 180, (0, 1, 160, 180)) < 0.01, "the resin hole stays open block by block");
        var e = expected.Span;
        var m = mask.Span;
        int differ = 0;
        for (int i = 0; i < e.Length; i++)
        {
            differ += e[i] != m[i] ? 1 : 0;
        }

        output.WriteLine($"{differ} of {e.Length} voxels differ from the in-memory mask");
        Assert.Equal(0, differ);

        // The plan's section resin travels with it (Dask workers, the block store's manifest).
        Assert.True(ClassicalPlan.FromJson(plan.ToJson()).KnowsSectionResin);
        Assert.Contains("section resin", plan.Describe(), StringComparison.Ordinal);
    }

    // One section of 320²: resin (128, noise 6; the left 64 columns and a 60² hole at 140..200) and textured tissue 40
    // darker elsewhere.
    private static Volume<float> TextureWithAFlatHole()
    {
        var shape = new Shape3(1, 320, 320);
        var v = Masking.TextureVolumes.Resin(31, shape);
        var tissue = Masking.TextureVolumes.Resin(32, shape);
        Masking.TextureVolumes.AddTexture(tissue, 0, 320, 2, 20, 33);
        for (int y = 0; y < 320; y++)
        {
            for (int x = 64; x < 320; x++)
            {
                if (!(y is >= 140 and < 200 && x is >= 140 and < 200))
                {
                    v[0, y, x] = tissue[0, y, x] - 40;
                }
            }
        }

        return v;
    }

    /// <summary>
    /// A section too large to mask whole is tiled; stained regions touching its mask still join it, over the tiles
    /// (TiledStainJoin), as in memory: a dark smooth block beside the tissue, crossing tile edges, is tissue in both, and
    /// the mask is the in-memory 2D one voxel for voxel. Before, tiles left the join out (the block was non-brain).
    /// </summary>
    [Fact]
    public void ATiledSectionJoinsStainedRegionsAsInMemory()
    {
        var raw = StainedBlockBesideTissue(new Shape3(1, 384, 512));
        var options = ClassicalMaskOptions.Default;
        var expected = ClassicalMasker.Run(raw, options).Mask;
        Assert.True(Masking.TextureVolumes.Mean(expected, 230, 370, (0, 1, 120, 240)) > 0.9, "the stained block is tissue in memory");
        Assert.Equal(0, ClassicalMasker.Run(raw, options with { StainJoin = 0 }).Mask[0, 180, 300]);

        var source = new VolumeBlockSource(raw);
        long budget = raw.Shape.SliceLength * (ClassicalBlockwise.SectionBytesPerVoxel + ClassicalBlockwise.SectionHeldBytes + ClassicalBlockwise.LayerCopies) / 2;
        var plan = ClassicalBlockwise.Plan(source, options, budget, confidence: false);
        Assert.Equal(MaskingMode.ThreeD, plan.Mode);
        var grid = ClassicalBlockwise.Grid(raw.Shape, plan, options, 128);
        Assert.True(grid.Count > 4, $"{grid.Count} blocks");
        var tiled = ClassicalBlockwise.Run(source, new MemoryBlockStore(), grid, plan, options);
        Assert.Equal(expected.Span.ToArray(), tiled.ToVolume().Span.ToArray());
        Assert.Contains(tiled.Notes, n => n.StartsWith("stained regions touching the mask joined it", StringComparison.Ordinal));
    }

    // Texture (tissue) left of x = 200, a dark smooth block (stained, y 100–260) from there to x = 380, bright noisy resin elsewhere.
    private static Volume<float> StainedBlockBesideTissue(Shape3 shape)
    {
        var random = new Random(11);
        var texture = new Volume<float>(shape);
        for (int i = 0; i < texture.Span.Length; i++)
        {
            texture.Span[i] = (float)(random.NextDouble() - 0.5);
        }

        EmMask.Core.Filters.GaussianFilter.Apply(texture, texture, new EmMask.Core.Filters.Sigma3(0, 1, 1));
        float sd = MathF.Sqrt(texture.Span.ToArray().Select(v => v * v).Average());
        var image = new Volume<float>(shape);
        for (int y = 0; y < shape.Y; y++)
        {
            for (int x = 0; x < shape.X; x++)
            {
                float noise = (float)(random.NextDouble() - 0.5) * 10;
                image[0, y, x] = x < 200 ? 130 + (25 * texture[0, y, x] / sd) : y is >= 100 and < 260 && x < 380 ? 105 + noise : 200 + noise;
            }
        }

        return image;
    }

    [Fact]
    public void ASectionOverTheBudgetIsTiledAndAStackOfThemIsNot()
    {
        var options = ClassicalMaskOptions.Default; // auto: one section → 2d, a block is the whole section
        var raw = Masking.TextureVolumes.Resin(36, new Shape3(1, 640, 640));
        Masking.TextureVolumes.AddTexture(raw, 64, 640, 2, 20, 37);
        var source = new VolumeBlockSource(raw);
        long section = raw.Shape.SliceLength * (ClassicalBlockwise.SectionBytesPerVoxel + ClassicalBlockwise.SectionHeldBytes + ClassicalBlockwise.LayerCopies);
        Assert.Equal(MaskingMode.TwoD, ClassicalBlockwise.Plan(source, options, section, confidence: false).Mode);
        var tiled = ClassicalBlockwise.Plan(source, options, section / 2, confidence: false);
        Assert.Equal(MaskingMode.ThreeD, tiled.Mode);
        Assert.NotNull(ClassicalBlockwise.BlockEdgeFor(section / 2, raw.Shape, tiled, options));

        // Where not even a tile fits, the section stays whole (the file masker then names the least budget a tile needs).
        Assert.Equal(MaskingMode.TwoD, ClassicalBlockwise.Plan(source, options, 1 << 20, confidence: false).Mode);

        var stack = new Shape3(2, raw.Shape.Y, raw.Shape.X);
        var plan2D = ClassicalBlockwise.Plan(source, options);
        Assert.False(ClassicalBlockwise.TilesSection(stack, plan2D, options, section / 2));
        Assert.Null(ClassicalBlockwise.BlockEdgeFor(section / 2, stack, plan2D, options));
    }

    [Theory]
    [InlineData("open2d:2,fill", 0)]
    [InlineData("open2d:3,largest:1,fill3d", 1)]
    [InlineData("close2d:2,largest:2", 0)]
    public void PostProcessingBlockwiseEqualsInMemory(string spec, int level)
    {
        var options = ThreeD with { Level = level };
        var raw = EmPhantom.Generate(new PhantomOptions { Seed = 21, Shape = new Shape3(64, 192, 192) }).Raw;
        var pipeline = EmMask.Core.PostProcessing.PostProcessPipeline.Parse(spec);
        var expected = ClassicalMasker.Run(raw, options).Mask;
        pipeline.Apply(expected);
        var source = new VolumeBlockSource(raw);
        var plan = ClassicalBlockwise.Plan(source, options);
        var grid = ClassicalBlockwise.Grid(raw.Shape, plan, options, 64);
        Assert.True(grid.Count > 1, $"{grid.Count} blocks");
        var mask = ClassicalBlockwise.Run(source, new MemoryBlockStore(), grid, plan, options).PostProcess(pipeline, _ => new MemoryBlockStore()).ToVolume();
        Assert.Equal(expected.Span.ToArray(), mask.Span.ToArray());
    }

    [Theory]
    [InlineData("grow:5")]
    [InlineData("open3d:2")]
    [InlineData("largest:1:26")]
    public void PostProcessingStepsWithA3DReachAreRefusedBlockwise(string spec)
    {
        var error = Assert.Throws<ArgumentException>(() => BlockPostProcessing.Check(EmMask.Core.PostProcessing.PostProcessPipeline.Parse(spec)));
        Assert.Contains("cannot run block-wise", error.Message);
    }

    [Fact]
    public void BlockSmallerThanTheHaloIsAClearError()
    {
        var raw = EmPhantom.Generate(new PhantomOptions { Seed = 3, Shape = new Shape3(64, 96, 96) }).Raw;
        var options = ThreeD with { Level = 1, RefineBoundary = false };
        var plan = ClassicalBlockwise.Plan(new VolumeBlockSource(raw), options);
        var error = Assert.Throws<ArgumentException>(() => ClassicalBlockwise.Grid(raw.Shape, plan, options, 8));
        Assert.Contains("smaller than the halo", error.Message);
    }

    [Fact]
    public void TwoDModeBlocksAreWholeSectionsAndExact()
    {
        var raw = EmPhantom.Generate(new PhantomOptions { Seed = 5, Shape = new Shape3(12, 96, 96) }).Raw;
        var options = ClassicalMaskOptions.Default; // auto: 12 sections → 2d
        var expected = ClassicalMasker.Run(raw, options).Mask;
        var source = new VolumeBlockSource(raw);
        var plan = ClassicalBlockwise.Plan(source, options);
        Assert.Equal(MaskingMode.TwoD, plan.Mode);
        var grid = ClassicalBlockwise.Grid(raw.Shape, plan, options, 40);
        Assert.True(grid.Count > 1 && grid.BlockSize.Y == 96, $"{grid.Count} blocks of {grid.BlockSize}");
        var mask = ClassicalBlockwise.Run(source, new MemoryBlockStore(), grid, plan, options).ToVolume();
        Assert.Equal(expected.Span.ToArray(), mask.Span.ToArray());
    }

    [Fact]
    public void TwoDModeBlocksAreExactWhereTheSectionsResinIsKnown()
    {
        // The per-section resin rules (resin holes kept open, unmarked border regions filled, the resin trim) read only
        // their own section, so whole-section blocks give the in-memory mask.
        var raw = Masking.ResinRuleTests.PaleTissueAndResinPocket(95, sections: 6);
        var options = ClassicalMaskOptions.Default with { Level = 2, MinimumRegionSize = 0 }; // auto: 6 sections → 2d
        var expected = ClassicalMasker.Run(raw, options).Mask;
        Assert.True(Masking.TextureVolumes.Mean(expected, 156, 200, (0, 6, 24, 64)) > 0.95, "the pale regions are tissue (the border rule acted)");
        var source = new VolumeBlockSource(raw);
        var plan = ClassicalBlockwise.Plan(source, options);
        var grid = ClassicalBlockwise.Grid(raw.Shape, plan, options, 40);
        Assert.True(grid.Count > 1, $"{grid.Count} blocks");
        var mask = ClassicalBlockwise.Run(source, new MemoryBlockStore(), grid, plan, options).ToVolume();
        Assert.Equal(expected.Span.ToArray(), mask.Span.ToArray());
    }

    [Fact]
    public void ResumedAfterACancelGivesTheUninterruptedMask()
    {
        var raw = EmPhantom.Generate(new PhantomOptions { Seed = 9, Shape = new Shape3(64, 192, 192) }).Raw;
        var options = ThreeD with { Level = 1 };
        var source = new VolumeBlockSource(raw);
        var plan = ClassicalBlockwise.Plan(source, options);
        var grid = ClassicalBlockwise.Grid(raw.Shape, plan, options, 128);
        var whole = ClassicalBlockwise.Run(source, new MemoryBlockStore(), grid, plan, options).ToVolume();

        var store = new MemoryBlockStore();
        using var cancel = new CancellationTokenSource();
        var stop = new SynchronousProgress(r =>
        {
            if (r.Stage.StartsWith("block 2/", StringComparison.Ordinal))
            {
                cancel.Cancel();
            }
        });
        Assert.ThrowsAny<OperationCanceledException>(() => ClassicalBlockwise.Run(source, store, grid, plan, options, stop, cancel.Token));
        Assert.Equal(2, grid.Blocks().Count(store.IsDone));
        var resumed = ClassicalBlockwise.Run(source, store, grid, plan, options);
        Assert.Equal(2, resumed.Resumed);
        Assert.Equal(whole.Span.ToArray(), resumed.ToVolume().Span.ToArray());
    }

    [Theory]
    [InlineData(0, 30L << 20)]
    [InlineData(2, 60L << 20)]
    [InlineData(null, 60L << 20)]
    public void TheBlockByBlockInMemoryPathGivesTheSameMaskAndConfidence(int? level, long budget)
    {
        var options = ThreeD with { Level = level };
        var raw = EmPhantom.Generate(new PhantomOptions { Seed = 17, Shape = new Shape3(96, 160, 160) }).Raw;
        var expected = ClassicalMasker.Run(raw, options);
        var plan = ClassicalBlockwise.Plan(new VolumeBlockSource(raw), options);
        var actual = ClassicalBlockwise.RunInMemory(raw, plan, options, budget);
        output.WriteLine(string.Join("; ", actual.Notes ?? []));
        Assert.Contains(actual.Notes ?? [], n => n.StartsWith("in memory,", StringComparison.Ordinal) && !n.Contains(" 1 blocks", StringComparison.Ordinal));
        Assert.Equal(expected.Mask.Span.ToArray(), actual.Mask.Span.ToArray());
        Assert.Equal(expected.Confidence.Span.ToArray(), actual.Confidence.Span.ToArray());
    }

    [Fact]
    public void TheBlockByBlockInMemoryPathKeepsThePaddingMap()
    {
        // The U-Net's envelope reads MaskResult.Valid (TissueEnvelope.NextToPadding): the block-by-block path for large
        // volumes assembles it from its blocks (BlockValidMap) as the whole-volume run measures it.
        var raw = EmPhantom.Generate(new PhantomOptions { Seed = 17, Shape = new Shape3(96, 160, 160) }).Raw;
        for (int z = 0; z < 96; z++)
        {
            for (int y = 0; y < 160; y++)
            {
                raw.Row(z, y)[120..].Clear();
            }
        }

        var expected = ClassicalMasker.Run(raw, ThreeD).Valid;
        Assert.NotNull(expected);
        var plan = ClassicalBlockwise.Plan(new VolumeBlockSource(raw), ThreeD);
        var actual = ClassicalBlockwise.RunInMemory(raw, plan, ThreeD, 30L << 20);
        Assert.Contains(actual.Notes ?? [], n => n.StartsWith("in memory,", StringComparison.Ordinal) && !n.Contains(" 1 blocks", StringComparison.Ordinal));
        Assert.Equal(expected.Span.ToArray(), actual.Valid!.Span.ToArray());
    }

    [Fact]
    public void ADiskThatFillsUpMidRunIsAnErrorAndTheRunResumesOnceThereIsRoom()
    {
        var raw = EmPhantom.Generate(new PhantomOptions { Seed = 10, Shape = new Shape3(64, 96, 96) }).Raw;
        var options = SmallHalo;
        var source = new VolumeBlockSource(raw);
        var plan = ClassicalBlockwise.Plan(source, options);
        var grid = ClassicalBlockwise.Grid(raw.Shape, plan, options, 32);
        var whole = ClassicalBlockwise.Run(source, new MemoryBlockStore(), grid, plan, options).ToVolume();
        var store = new FillingStore(room: 4);
        var error = Assert.Throws<IOException>(() => ClassicalBlockwise.Run(source, store, grid, plan, options));
        Assert.Contains("No space left", error.Message);
        Assert.Equal(4, grid.Blocks().Count(store.IsDone));
        store.Room = int.MaxValue;
        var resumed = ClassicalBlockwise.Run(source, store, grid, plan, options);
        Assert.Equal(4, resumed.Resumed);
        Assert.Equal(whole.Span.ToArray(), resumed.ToVolume().Span.ToArray());
    }

    [Fact]
    public void RowsCanBeReadInWriterBandsThatStraddleBlockLayers()
    {
        var raw = EmPhantom.Generate(new PhantomOptions { Seed = 12, Shape = new Shape3(72, 64, 64) }).Raw;
        var options = SmallHalo;
        var source = new VolumeBlockSource(raw);
        var plan = ClassicalBlockwise.Plan(source, options);
        var grid = ClassicalBlockwise.Grid(raw.Shape, plan, options, 24); // layers of 24 sections, bands of 16
        var expected = ClassicalBlockwise.Run(source, new MemoryBlockStore(), grid, plan, options).ToVolume();
        var rows = ClassicalBlockwise.Run(source, new MemoryBlockStore(), grid, plan, options);
        var actual = new Volume<byte>(raw.Shape);
        for (int z0 = 0; z0 < raw.Shape.Z; z0 += 16)
        {
            for (int y0 = 0; y0 < raw.Shape.Y; y0 += 16)
            {
                for (int z = z0; z < Math.Min(z0 + 16, raw.Shape.Z); z++)
                {
                    for (int y = y0; y < y0 + 16; y++)
                    {
                        rows.CopyRow(z, y, actual.Row(z, y));
                    }
                }
            }
        }

        Assert.Equal(expected.Span.ToArray(), actual.Span.ToArray());
        Assert.Equal(expected.Span.ToArray().Sum(b => (long)b), rows.TissueVoxels);
    }

    /// <summary>A store on a disk with room for a given number of blocks.</summary>
    private sealed class FillingStore(int room) : IBlockStore
    {
        private readonly MemoryBlockStore inner = new();
        private int written;

        public int Room { get; set; } = room;

        public bool IsDone(BlockRegion block) => inner.IsDone(block);

        public void Write(BlockRegion block, Volume<byte> core, CancellationToken ct)
        {
            if (written >= Room)
            {
                throw new IOException("No space left on device");
            }

            inner.Write(block, core, ct);
            written++;
        }

        public Volume<byte> Read(BlockRegion block, CancellationToken ct) => inner.Read(block, ct);
    }

    private sealed class SynchronousProgress(Action<Progress.ProgressReport> report) : IProgress<Progress.ProgressReport>
    {
        public void Report(Progress.ProgressReport value) => report(value);
    }
}
