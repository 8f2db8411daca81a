using EmMask.Core.Evaluation;
using EmMask.Core.Masking;
using EmMask.Core.Phantom;
using EmMask.Core.Volumes;
using static EmMask.Core.Tests.Masking.TextureVolumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>Electron-dense structures (tracheal cuticle) and what they enclose (the lumen) are non-brain.</summary>
public class DenseStructureTests
{
    private const byte Dense = 0x80;

    // The isotropy rule also trims tracheae (their walls are sheet-like); off here, so that only the density rule acts.
    private static readonly ClassicalMaskOptions Base = ClassicalMaskOptions.Default with { Isotropy = 0 };

    [Fact]
    public void ARingEnclosesItsInteriorAlongTwoAxes()
    {
        var shape = new Shape3(1, 20, 20);
        var flags = new byte[shape.Length];
        for (int y = 0; y < 20; y++)
        {
            for (int x = 0; x < 20; x++)
            {
                double r = Math.Sqrt(((y - 10) * (y - 10)) + ((x - 10) * (x - 10)));
                flags[(y * 20) + x] = r is >= 5 and < 6.5 ? Dense : (byte)0;
            }
        }

        DenseStructure.CountEnclosures(shape, flags, gap: 16, default);
        Assert.Equal(2, flags[(10 * 20) + 10]);  // centre: closed along y and x
        Assert.Equal(0, flags[(1 * 20) + 1]);    // corner outside the ring: the border does not close a run
        Assert.Equal(Dense, flags[(10 * 20) + 15]);
        DenseStructure.CountEnclosures(shape, Reset(flags), gap: 5, default);
        Assert.Equal(0, flags[(10 * 20) + 10]);  // the lumen (9 voxels across) is wider than the gap
    }

    [Fact]
    public void TwoParallelSheetsEncloseAlongOneAxisOnly()
    {
        var shape = new Shape3(8, 8, 12);
        var flags = new byte[shape.Length];
        for (int z = 0; z < 8; z++)
        {
            for (int y = 0; y < 8; y++)
            {
                flags[(((z * 8) + y) * 12) + 2] = Dense;
                flags[(((z * 8) + y) * 12) + 9] = Dense;
            }
        }

        DenseStructure.CountEnclosures(shape, flags, gap: 16, default);
        Assert.Equal(1, flags[(((4 * 8) + 4) * 12) + 5]); // between the sheets: along x only, so not enclosed
        Assert.Equal(0, flags[(((4 * 8) + 4) * 12) + 11]);
    }

    [Fact]
    public void ZRunsCountAcrossSlices()
    {
        var shape = new Shape3(10, 3, 4);
        var flags = new byte[shape.Length];
        flags[(((1 * 3) + 1) * 4) + 2] = Dense;
        flags[(((7 * 3) + 1) * 4) + 2] = Dense;
        DenseStructure.CountEnclosures(shape, flags, gap: 16, default);
        for (int z = 2; z < 7; z++)
        {
            Assert.Equal(1, flags[(((z * 3) + 1) * 4) + 2]);
        }

        Assert.Equal(0, flags[(((8 * 3) + 1) * 4) + 2]);
        Assert.Equal(0, flags[(((4 * 3) + 1) * 4) + 1]);
    }

    [Theory]
    [InlineData(1L << 30, 1 << 20, 1024, 1025)] // 1024³: a stride of 1024 would sample one yz plane
    [InlineData(1L << 24, 1 << 20, 256, 17)]
    [InlineData(1L << 24, 1 << 16, 255, 256)]
    [InlineData(1000L, 1 << 20, 64, 1)]
    public void SampleStridesAreCoprimeWithTheRowLength(long length, int limit, int rowLength, int expected)
    {
        int step = ClassicalMasker.SampleStride(length, limit, rowLength);
        Assert.Equal(expected, step);
        var columns = new HashSet<long>();
        for (long i = 0; i < Math.Min(length, (long)step * rowLength * 4); i += step)
        {
            columns.Add(i % rowLength);
        }

        Assert.Equal(Math.Min(rowLength, (int)Math.Min(length, (long)step * rowLength * 4)), columns.Count);
    }

    [Fact]
    public void ReferenceNeedsBothClassesAndADirection()
    {
        var vote = new float[10000];
        var smooth = new float[10000];
        var random = new Random(1);
        for (int i = 0; i < vote.Length; i++)
        {
            bool tissue = i < 5000;
            vote[i] = tissue ? 0.9f : 0.1f;
            smooth[i] = (tissue ? 0.4f : 0.6f) + (0.05f * (float)random.NextDouble());
        }

        var reference = DenseStructure.Measure(vote, 0.5f, smooth);
        Assert.NotNull(reference);
        Assert.Equal(-1f, reference.Value.Direction); // tissue darker than resin: dense means darker still
        Assert.InRange(reference.Value.TissueMedian, 0.42f, 0.43f);

        Assert.Null(DenseStructure.Measure(Enumerable.Repeat(0.9f, 10000).ToArray(), 0.5f, smooth)); // no resin
        var same = smooth.Select((s, i) => i < 5000 ? s : s - 0.2f).ToArray();
        Assert.Null(DenseStructure.Measure(vote, 0.5f, same)); // tissue and resin alike: no side is "away from resin"
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DenseThresholdRemovesTracheaWallsButKeepsBrain(bool invert)
    {
        var (phantom, tube) = Phantom(2003, invert);
        var off = ClassicalMasker.Run(phantom.Raw, Base with { DenseThreshold = 0 }).Mask;
        var on = ClassicalMasker.Run(phantom.Raw, Base).Mask;
        double wallsOff = Share(off, tube, t => t >= 2), wallsOn = Share(on, tube, t => t >= 2);
        Assert.True(wallsOn < wallsOff / 2, $"trachea wall marked brain: off {wallsOff:F3}, on {wallsOn:F3}");
        double recallOff = MaskMetrics.Compute(off, phantom.Truth).Recall, recallOn = MaskMetrics.Compute(on, phantom.Truth).Recall;
        Assert.True(recallOn > recallOff - 0.01, $"brain recall: off {recallOff:F4}, on {recallOn:F4}");
        Assert.True(MaskMetrics.Compute(on, phantom.Truth).Dice > MaskMetrics.Compute(off, phantom.Truth).Dice + 0.02);
    }

    [Fact]
    public void LowerDenseThresholdRemovesMore()
    {
        var (phantom, _) = Phantom(2003, false);
        long[] counts = new[] { 1.0, 2.0, 4.0 }
            .Select(k => Count(ClassicalMasker.Run(phantom.Raw, Base with { DenseThreshold = k }).Mask)).ToArray();
        Assert.True(counts[0] < counts[1] && counts[1] < counts[2], string.Join(", ", counts));
    }

    [Fact]
    public void DenseGapRemovesTheEnclosedLumen()
    {
        var (phantom, tube) = Phantom(2003, false);
        double noGap = Share(ClassicalMasker.Run(phantom.Raw, Base with { DenseGap = 0 }).Mask, tube, t => t == 1);
        double gap = Share(ClassicalMasker.Run(phantom.Raw, Base).Mask, tube, t => t == 1);
        Assert.True(gap < noGap - 0.1, $"trachea lumen marked brain: dense_gap 0 {noGap:F3}, 16 {gap:F3}");
    }

    [Fact]
    public void BadDenseOptionsAreNamed()
    {
        Assert.Equal("dense_threshold", Assert.Throws<ArgumentOutOfRangeException>(() => (ClassicalMaskOptions.Default with { DenseThreshold = -1 }).Validate()).ParamName);
        Assert.Equal("dense_threshold", Assert.Throws<ArgumentOutOfRangeException>(() => (ClassicalMaskOptions.Default with { DenseThreshold = double.NaN }).Validate()).ParamName);
        Assert.Equal("dense_gap", Assert.Throws<ArgumentOutOfRangeException>(() => (ClassicalMaskOptions.Default with { DenseGap = -2 }).Validate()).ParamName);
    }

    private static byte[] Reset(byte[] flags)
    {
        for (int i = 0; i < flags.Length; i++)
        {
            flags[i] = flags[i] >= Dense ? Dense : (byte)0;
        }

        return flags;
    }

    private static (PhantomVolume Phantom, byte[] Tube) Phantom(int seed, bool invert)
    {
        var layers = new PhantomLayers();
        var phantom = EmPhantom.Generate(new PhantomOptions { Seed = seed, Invert = invert, Shape = new Shape3(64, 128, 128) }, default, -1, layers);
        return (phantom, layers.Tube);
    }

    private static double Share(Volume<byte> mask, byte[] tube, Func<byte, bool> where)
    {
        var m = mask.Span;
        long n = 0, marked = 0;
        for (int i = 0; i < m.Length; i++)
        {
            if (where(tube[i]))
            {
                n++;
                marked += m[i];
            }
        }

        return (double)marked / n;
    }
}
