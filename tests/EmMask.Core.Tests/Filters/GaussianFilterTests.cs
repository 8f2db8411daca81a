using EmMask.Core.Filters;
using EmMask.Core.Volumes;
using static EmMask.Core.Tests.Filters.FilterTestData;

namespace EmMask.Core.Tests.Filters;

public class GaussianFilterTests
{
    [Theory]
    [InlineData(0.5)]
    [InlineData(1.0)]
    [InlineData(2.0)]
    [InlineData(3.3)]
    public void ImpulseResponseIsTheNormalisedKernel(double sigma)
    {
        int radius = (int)((4 * sigma) + 0.5);
        int n = (2 * radius) + 5;
        var shape = new Shape3(n, n, n);
        var impulse = new Volume<float>(shape);
        int c = n / 2;
        impulse[c, c, c] = 1f;
        var result = impulse.Like<float>();
        GaussianFilter.Apply(impulse, result, Sigma3.Isotropic(sigma));

        double[] k = GaussianKernel.CorrelationWeights(sigma, 0, radius);
        Assert.Equal(1.0, k.Sum(), 12);
        for (int z = 0; z < n; z++)
        {
            for (int y = 0; y < n; y++)
            {
                for (int x = 0; x < n; x++)
                {
                    double expected = Weight(z - c) * Weight(y - c) * Weight(x - c);
                    Assert.True(Math.Abs(result[z, y, x] - expected) <= 1e-7 + (1e-5 * expected), $"({z},{y},{x}): {result[z, y, x]} vs {expected}");
                }
            }
        }

        double Weight(int d) => Math.Abs(d) <= radius ? k[d + radius] : 0.0;
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 7, 9)]
    [InlineData(9, 17, 40)]
    [InlineData(2, 33, 35)]
    public void ConstantVolumeStaysConstant(int z, int y, int x)
    {
        var volume = new Volume<float>(new Shape3(z, y, x));
        volume.Span.Fill(37.25f);
        GaussianFilter.Apply(volume, volume, new Sigma3(1.7, 4.2, 2.5));
        foreach (float v in volume.Span)
        {
            Assert.Equal(37.25f, v, 4e-5f);
        }
    }

    [Fact]
    public void DerivativeOfAConstantIsZeroAndOfARampIsItsSlope()
    {
        var shape = new Shape3(12, 10, 40);
        var ramp = new Volume<float>(shape);
        for (int z = 0; z < shape.Z; z++)
        {
            for (int y = 0; y < shape.Y; y++)
            {
                for (int x = 0; x < shape.X; x++)
                {
                    ramp[z, y, x] = (3f * x) + 5f;
                }
            }
        }

        var dx = ramp.Like<float>();
        GaussianFilter.Apply(ramp, dx, Sigma3.Isotropic(1.5), (0, 0, 1));
        var dz = ramp.Like<float>();
        GaussianFilter.Apply(ramp, dz, Sigma3.Isotropic(1.5), (1, 0, 0));
        int margin = 7; // radius int(4·1.5 + 0.5) = 6; the reflect boundary bends the ramp inside it

        // The truncated, sampled kernel's first moment is slightly below 1 (scipy's is the same): use it exactly.
        float slope = (float)(3 * FirstMoment(1.5));
        for (int z = 0; z < shape.Z; z++)
        {
            for (int y = 0; y < shape.Y; y++)
            {
                for (int x = margin; x < shape.X - margin; x++)
                {
                    Assert.Equal(slope, dx[z, y, x], 1e-4f);
                }

                for (int x = 0; x < shape.X; x++)
                {
                    Assert.Equal(0f, dz[z, y, x]);
                }
            }
        }
    }

    /// <summary>Σ d·w(d) of the order-1 correlation weights: the response to a unit ramp.</summary>
    internal static double FirstMoment(double sigma)
    {
        int radius = GaussianKernel.RadiusFor(sigma, 4.0);
        double[] w = GaussianKernel.CorrelationWeights(sigma, 1, radius);
        double moment = 0;
        for (int i = 0; i < w.Length; i++)
        {
            moment += (i - radius) * w[i];
        }

        Assert.InRange(moment, 0.99, 1.0);
        return moment;
    }

    [Fact]
    public void SumIsPreservedAwayFromBorders()
    {
        // A blob well inside the volume keeps its total mass.
        var shape = new Shape3(30, 31, 45);
        var volume = new Volume<float>(shape);
        var rng = new Random(3);
        for (int z = 12; z < 18; z++)
        {
            for (int y = 12; y < 19; y++)
            {
                for (int x = 15; x < 30; x++)
                {
                    volume[z, y, x] = (float)rng.NextDouble();
                }
            }
        }

        var result = volume.Like<float>();
        GaussianFilter.Apply(volume, result, new Sigma3(1.2, 2.0, 2.5));
        double before = volume.Span.ToArray().Sum(v => (double)v);
        double after = result.Span.ToArray().Sum(v => (double)v);
        Assert.Equal(before, after, before * 1e-5);
    }

    [Fact]
    public void InPlaceEqualsOutOfPlaceBitForBit()
    {
        foreach (var shape in new[] { new Shape3(9, 20, 37), new Shape3(3, 20, 37), new Shape3(1, 5, 70) })
        {
            foreach (var order in new[] { (0, 0, 0), (1, 0, 0), (0, 1, 1) })
            {
                var source = Random(shape, 11);
                var expected = source.Like<float>();
                GaussianFilter.Apply(source, expected, new Sigma3(1.3, 2.1, 0.9), order);
                GaussianFilter.Apply(source, source, new Sigma3(1.3, 2.1, 0.9), order);
                AssertIdentical(expected, source);
            }
        }
    }

    public static TheoryData<int> Lengths()
    {
        var data = new TheoryData<int>();
        for (int n = 1; n <= 40; n++)
        {
            data.Add(n);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void MatchesTheDoubleReferenceForEveryAxisLength(int n)
    {
        // Each axis in turn gets length n, reaching the scalar tails, single vectors and 4-vector blocks of every pass,
        // and lines shorter than the kernel radius.
        var sigma = new Sigma3(1.6, 2.4, 3.1);
        foreach (var shape in new[] { new Shape3(n, 6, 5), new Shape3(4, n, 7), new Shape3(9, 3, n) })
        {
            var source = Random(shape, n, 50f, 10f);
            var actual = source.Like<float>();
            GaussianFilter.Apply(source, actual, sigma);
            AssertClose(ReferenceGaussian(source, sigma, (0, 0, 0)), actual);

            GaussianFilter.Apply(source, actual, sigma, (1, 1, 1));
            AssertClose(ReferenceGaussian(source, sigma, (1, 1, 1)), actual);
        }
    }

    [Fact]
    public void ResultDoesNotDependOnThreadCount()
    {
        foreach (var shape in new[] { new Shape3(20, 33, 41), new Shape3(2, 64, 50) })
        {
            var source = Random(shape, 5);
            var serial = source.Like<float>();
            using (ParallelLines.LimitDegree(1))
            {
                GaussianFilter.Apply(source, serial, new Sigma3(1.5, 2.5, 1.1), (0, 1, 0));
            }

            foreach (int degree in new[] { 2, 3, 7 })
            {
                var parallel = source.Like<float>();
                using (ParallelLines.LimitDegree(degree))
                {
                    GaussianFilter.Apply(source, parallel, new Sigma3(1.5, 2.5, 1.1), (0, 1, 0));
                }

                AssertIdentical(serial, parallel);
            }
        }
    }

    [Fact]
    public void ZeroSigmaSkipsTheAxisAndIgnoresItsOrder()
    {
        var source = Random(new Shape3(4, 5, 6), 9);
        var result = source.Like<float>();
        GaussianFilter.Apply(source, result, Sigma3.Isotropic(0), (1, 1, 1));
        AssertIdentical(source, result);
    }

    [Fact]
    public void CancellationThrows()
    {
        var source = Random(new Shape3(16, 16, 16), 1);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => GaussianFilter.Apply(source, source.Like<float>(), Sigma3.Isotropic(1), cancellationToken: cts.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => DifferenceOfGaussians.Apply(source, source.Like<float>(), Sigma3.Isotropic(1), Sigma3.Isotropic(2), cts.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => GaussianGradientMagnitude.Apply(source, source.Like<float>(), Sigma3.Isotropic(1), cts.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => LocalStatistics.Compute(source, Sigma3.Isotropic(1), source.Like<float>(), source.Like<float>(), cts.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => UniformFilter.Apply(source, source.Like<float>(), (3, 3, 3), cts.Token));
    }

    [Fact]
    public void CancellationDuringTheWorkStopsIt()
    {
        // A dedicated thread (not the thread pool, which parallel tests may starve) cancels 1 ms in; the loop
        // runs until the cancellation surfaces, with a generous cap so a broken token check fails the test.
        var source = Random(new Shape3(48, 48, 48), 1);
        using var cts = new CancellationTokenSource();
        var canceller = new Thread(() =>
        {
            Thread.Sleep(1);
            cts.Cancel();
        });
        canceller.Start();
        var ex = Record.Exception(() =>
        {
            for (int i = 0; i < 100_000; i++)
            {
                GaussianFilter.Apply(source, source, Sigma3.Isotropic(3), cancellationToken: cts.Token);
            }
        });
        canceller.Join();
        Assert.IsAssignableFrom<OperationCanceledException>(ex);
    }

    [Fact]
    public void BadArgumentsNameTheParameter()
    {
        var a = new Volume<float>(new Shape3(2, 3, 4));
        var b = new Volume<float>(new Shape3(2, 3, 5));
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => GaussianFilter.Apply(a, b, Sigma3.Isotropic(1))).ParamName);
        Assert.Equal("sigma", Assert.Throws<ArgumentOutOfRangeException>(() => GaussianFilter.Apply(a, a, new Sigma3(1, -1, 1))).ParamName);
        Assert.Equal("sigma", Assert.Throws<ArgumentOutOfRangeException>(() => GaussianFilter.Apply(a, a, new Sigma3(double.NaN, 1, 1))).ParamName);
        Assert.Equal("sigma", Assert.Throws<ArgumentOutOfRangeException>(() => GaussianFilter.Apply(a, a, new Sigma3(1, 1, double.PositiveInfinity))).ParamName);
        Assert.Equal("sigma", Assert.Throws<ArgumentOutOfRangeException>(() => GaussianFilter.Apply(a, a, new Sigma3(1, 1, 1e9))).ParamName);
        Assert.Equal("truncate", Assert.Throws<ArgumentOutOfRangeException>(() => GaussianFilter.Apply(a, a, Sigma3.Isotropic(1), -1.0)).ParamName);
        Assert.Equal("truncate", Assert.Throws<ArgumentOutOfRangeException>(() => GaussianFilter.Apply(a, a, Sigma3.Isotropic(1), double.NaN)).ParamName);
        Assert.Equal("order", Assert.Throws<ArgumentOutOfRangeException>(() => GaussianFilter.Apply(a, a, Sigma3.Isotropic(1), (0, 2, 0))).ParamName);
        Assert.Equal("source", Assert.Throws<ArgumentNullException>(() => GaussianFilter.Apply(null!, a, Sigma3.Isotropic(1))).ParamName);

        // Two volumes over overlapping but different memory cannot be filtered line by line.
        var buffer = new float[(2 * 3 * 4) + 1];
        var first = new Volume<float>(a.Shape, buffer.AsMemory(0, 24));
        var shifted = new Volume<float>(a.Shape, buffer.AsMemory(1, 24));
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => GaussianFilter.Apply(first, shifted, Sigma3.Isotropic(1))).ParamName);
    }

    [Fact]
    public void EmptyVolumeIsANoOp()
    {
        var empty = new Volume<float>(new Shape3(0, 4, 4));
        GaussianFilter.Apply(empty, empty.Like<float>(), Sigma3.Isotropic(2));
    }
}
