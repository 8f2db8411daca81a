using EmMask.Core.Phantom;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Phantom;

public class EmPhantomTests
{
    private static readonly Shape3 Small = new(24, 64, 64);

    private static PhantomVolume Make(int seed, Shape3? shape = null, double? fraction = null, bool invert = false, bool artefacts = true) =>
        EmPhantom.Generate(new PhantomOptions { Seed = seed, Shape = shape ?? Small, TissueFraction = fraction, Invert = invert, Artefacts = artefacts });

    private static double Fraction(Volume<byte> truth)
    {
        long n = 0;
        foreach (byte b in truth.Span)
        {
            n += b;
        }

        return (double)n / truth.Span.Length;
    }

    [Fact]
    public void SameSeedGivesIdenticalBytes()
    {
        var a = Make(7);
        var b = Make(7);
        Assert.True(a.Raw.Span.SequenceEqual(b.Raw.Span));
        Assert.True(a.Truth.Span.SequenceEqual(b.Truth.Span));
    }

    [Fact]
    public void ThreadCountDoesNotChangeOutput()
    {
        var options = new PhantomOptions { Seed = 3, Shape = Small };
        var one = EmPhantom.Generate(options, default, maxDegreeOfParallelism: 1, layers: null);
        var many = EmPhantom.Generate(options, default, maxDegreeOfParallelism: 4, layers: null);
        Assert.True(one.Raw.Span.SequenceEqual(many.Raw.Span));
        Assert.True(one.Truth.Span.SequenceEqual(many.Truth.Span));
    }

    [Fact]
    public void DifferentSeedsDiffer()
    {
        var a = Make(1);
        var b = Make(2);
        Assert.False(a.Raw.Span.SequenceEqual(b.Raw.Span));
        Assert.False(a.Truth.Span.SequenceEqual(b.Truth.Span));
    }

    [Fact]
    public void OutputHasShapeVoxelSizeAndBinaryTruth()
    {
        var options = new PhantomOptions { Seed = 5, Shape = new Shape3(10, 40, 30), VoxelSize = new VoxelSize(40, 8, 8) };
        var p = EmPhantom.Generate(options);
        Assert.Equal(options.Shape, p.Raw.Shape);
        Assert.Equal(options.Shape, p.Truth.Shape);
        Assert.Equal(options.VoxelSize, p.Raw.VoxelSize);
        Assert.Equal(options.VoxelSize, p.Truth.VoxelSize);
        Assert.All(p.Truth.Span.ToArray(), b => Assert.True(b <= 1));
        Assert.Contains((byte)0, p.Truth.Span.ToArray());
        Assert.Contains((byte)1, p.Truth.Span.ToArray());
    }

    [Fact]
    public void TissueFractionVariesWidelyAcrossSeeds()
    {
        var fractions = Enumerable.Range(0, 10).Select(s => Fraction(Make(s, new Shape3(8, 48, 48)).Truth)).ToArray();
        Assert.True(fractions.Min() < 0.3, $"min {fractions.Min():F2}");
        Assert.True(fractions.Max() > 0.6, $"max {fractions.Max():F2}");
        Assert.All(fractions, f => Assert.InRange(f, 0.1, 0.85));
    }

    [Theory]
    [InlineData(0.0, 4)]
    [InlineData(0.2, 1)]
    [InlineData(0.5, 2)]
    [InlineData(0.75, 3)]
    public void TissueFractionIsHonoured(double target, int seed)
    {
        var p = Make(seed, fraction: target);
        Assert.InRange(Fraction(p.Truth), target - 0.05, target + 0.05);
    }

    [Fact]
    public void TracheaeCutHolesIntoTheTissueAndRunThroughResin()
    {
        int inTissue = 0, inResin = 0;
        for (int seed = 0; seed < 4; seed++)
        {
            var layers = new PhantomLayers();
            var p = EmPhantom.Generate(new PhantomOptions { Seed = seed, Shape = Small }, default, -1, layers);
            var truth = p.Truth.Span;
            int here = 0;
            for (int i = 0; i < truth.Length; i++)
            {
                if (layers.Tube[i] == 0)
                {
                    Assert.Equal(layers.Envelope[i], truth[i]);
                    continue;
                }

                Assert.Equal(0, truth[i]); // lumen and wall are never brain
                if (layers.Envelope[i] == 1)
                {
                    here++;
                }
                else
                {
                    inResin++;
                }
            }

            Assert.True(here > 50, $"seed {seed}: only {here} trachea voxels inside the tissue envelope");
            inTissue += here;
        }

        Assert.True(inResin > 50, $"only {inResin} trachea voxels in resin over 4 seeds");
        Assert.True(inTissue > 0);
    }

    [Fact]
    public void TracheaWallsAreDarkAndLumenIsResinLike()
    {
        var layers = new PhantomLayers();
        var p = EmPhantom.Generate(new PhantomOptions { Seed = 2, Shape = Small, Artefacts = false }, default, -1, layers);
        var raw = p.Raw.Span;
        double wall = 0, lumen = 0, resin = 0;
        int nw = 0, nl = 0, nr = 0;
        for (int i = 0; i < raw.Length; i++)
        {
            if (layers.Tube[i] >= 2) { wall += raw[i]; nw++; }
            else if (layers.Tube[i] == 1) { lumen += raw[i]; nl++; }
            else if (layers.Envelope[i] == 0) { resin += raw[i]; nr++; }
        }

        Assert.True(nw > 0 && nl > 0 && nr > 0);
        Assert.True(wall / nw < (resin / nr) - 40, $"wall {wall / nw:F0} vs resin {resin / nr:F0}");
        Assert.InRange(lumen / nl, (resin / nr) - 5, (resin / nr) + 5);
    }

    [Fact]
    public void InvertFlipsRawButNotTruth()
    {
        var normal = Make(4);
        var inverted = Make(4, invert: true);
        Assert.True(normal.Truth.Span.SequenceEqual(inverted.Truth.Span));
        var a = normal.Raw.Span;
        var b = inverted.Raw.Span;
        for (int i = 0; i < a.Length; i++)
        {
            Assert.Equal(255 - a[i], b[i]);
        }

        var (tissue, resin) = ClassMeans(normal);
        var (tissueInv, resinInv) = ClassMeans(inverted);
        Assert.True(tissue < resin, "normal contrast: resin is brighter than tissue");
        Assert.True(tissueInv > resinInv, "inverted contrast: tissue is brighter than resin");
    }

    [Fact]
    public void ArtefactsChangeRawButNotTruth()
    {
        var with = Make(6);
        var without = Make(6, artefacts: false);
        Assert.True(with.Truth.Span.SequenceEqual(without.Truth.Span));
        Assert.False(with.Raw.Span.SequenceEqual(without.Raw.Span));
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(1, true)]
    [InlineData(2, false)]
    [InlineData(3, true)]
    public void TextureSeparatesTissueFromResinWhileMeansAreClose(int seed, bool artefacts)
    {
        var p = Make(seed, new Shape3(24, 96, 96), fraction: 0.5, artefacts: artefacts);
        var (tissueMean, resinMean) = ClassMeans(p);
        Assert.InRange(resinMean - tissueMean, 3, 25);

        var (tissueStd, resinStd) = LocalStd(p, radius: 2);
        Assert.True(tissueStd > 1.5 * resinStd, $"5³ std: tissue {tissueStd:F1}, resin {resinStd:F1}");
    }

    [Theory]
    [InlineData(1, 96, 96)]
    [InlineData(8, 16, 16)]
    [InlineData(1, 1, 1)]
    [InlineData(3, 1, 50)]
    public void TwoDimensionalAndTinyShapesWork(int z, int y, int x)
    {
        var shape = new Shape3(z, y, x);
        var p = Make(11, shape);
        Assert.Equal(shape, p.Raw.Shape);
        Assert.All(p.Truth.Span.ToArray(), b => Assert.True(b <= 1));
        var again = Make(11, shape);
        Assert.True(p.Raw.Span.SequenceEqual(again.Raw.Span));
    }

    [Fact]
    public void TwoDimensionalSliceHonoursFraction()
    {
        var p = Make(12, new Shape3(1, 128, 128), fraction: 0.4);
        Assert.InRange(Fraction(p.Truth), 0.35, 0.45);
    }

    [Theory]
    [InlineData(-1, 8, 8)]
    [InlineData(0, 8, 8)]
    [InlineData(8, 0, 8)]
    [InlineData(8, 8, -3)]
    public void BadShapesThrow(int z, int y, int x)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => EmPhantom.Generate(new PhantomOptions { Shape = new Shape3(z, y, x) }));
        Assert.Equal("Shape", ex.ParamName);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void BadTissueFractionThrows(double fraction)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => EmPhantom.Generate(new PhantomOptions { Shape = Small, TissueFraction = fraction }));
        Assert.Equal("TissueFraction", ex.ParamName);
    }

    [Fact]
    public void BadVoxelSizeThrows()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => EmPhantom.Generate(new PhantomOptions { Shape = Small, VoxelSize = new VoxelSize(0, 16, 16) }));
    }

    [Fact]
    public void CancellationIsHonoured()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => EmPhantom.Generate(new PhantomOptions { Shape = Small }, cts.Token));
    }

    private static (double Tissue, double Resin) ClassMeans(PhantomVolume p)
    {
        var raw = p.Raw.Span;
        var truth = p.Truth.Span;
        double st = 0, sr = 0;
        long nt = 0, nr = 0;
        for (int i = 0; i < raw.Length; i++)
        {
            if (truth[i] == 1) { st += raw[i]; nt++; }
            else { sr += raw[i]; nr++; }
        }

        return (st / nt, sr / nr);
    }

    /// <summary>Mean of the (2r+1)³-window standard deviation over windows lying wholly in tissue or wholly outside it.</summary>
    private static (double Tissue, double Resin) LocalStd(PhantomVolume p, int radius)
    {
        var s = p.Raw.Shape;
        double tissue = 0, resin = 0;
        int nt = 0, nr = 0;
        for (int z = radius; z < s.Z - radius; z += 2)
        {
            for (int y = radius; y < s.Y - radius; y += 2)
            {
                for (int x = radius; x < s.X - radius; x += 2)
                {
                    double sum = 0, sum2 = 0;
                    int labels = 0, n = 0;
                    for (int dz = -radius; dz <= radius; dz++)
                    {
                        for (int dy = -radius; dy <= radius; dy++)
                        {
                            for (int dx = -radius; dx <= radius; dx++)
                            {
                                double v = p.Raw[z + dz, y + dy, x + dx];
                                sum += v;
                                sum2 += v * v;
                                labels += p.Truth[z + dz, y + dy, x + dx];
                                n++;
                            }
                        }
                    }

                    double std = Math.Sqrt(Math.Max(0, (sum2 / n) - ((sum / n) * (sum / n))));
                    if (labels == n) { tissue += std; nt++; }
                    else if (labels == 0) { resin += std; nr++; }
                }
            }
        }

        Assert.True(nt > 0 && nr > 0, "need pure tissue and pure resin windows");
        return (tissue / nt, resin / nr);
    }
}
