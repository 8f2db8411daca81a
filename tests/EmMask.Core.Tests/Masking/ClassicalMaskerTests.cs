using EmMask.Core.Masking;
using EmMask.Core.Volumes;
using static EmMask.Core.Tests.Masking.TextureVolumes;

namespace EmMask.Core.Tests.Masking;

public class ClassicalMaskerTests
{
    private static readonly ClassicalMaskOptions Fixed = new() { Threshold = 2, MinimumRegionSize = 0 };

    [Fact]
    public void TexturedHalfIsTissueAndNoiseHalfIsNot()
    {
        var v = Resin(1);
        AddTexture(v, 0, 32, 0.8, 30, 2);
        var result = ClassicalMasker.Run(v);
        Assert.True(Mean(result.Mask, 0, 26) > 0.97, $"tissue side {Mean(result.Mask, 0, 26)}");
        Assert.True(Mean(result.Mask, 38, X) < 0.03, $"resin side {Mean(result.Mask, 38, X)}");
        Assert.Empty(result.Warnings);
        Assert.Equal(v.Shape, result.Confidence.Shape);
    }

    [Fact]
    public void PolarityDoesNotMatter()
    {
        var v = Resin(3);
        AddTexture(v, 0, 32, 0.8, 30, 4);
        var inverted = v.Clone();
        var s = inverted.Span;
        for (int i = 0; i < s.Length; i++)
        {
            s[i] = 255f - s[i];
        }

        var a = ClassicalMasker.Run(v).Mask.Span.ToArray();
        var b = ClassicalMasker.Run(inverted).Mask.Span.ToArray();
        int differ = a.Zip(b).Count(p => p.First != p.Second);
        Assert.True(differ <= a.Length / 1000, $"{differ} voxels differ between contrasts");
    }

    [Fact]
    public void MaskIsConfidenceAtLeastHalfWithoutRegionRemoval()
    {
        var v = Resin(5);
        AddTexture(v, 10, 40, 0.8, 20, 6);
        var r = ClassicalMasker.Run(v, Fixed);
        var m = r.Mask.Span;
        var c = r.Confidence.Span;
        for (int i = 0; i < m.Length; i++)
        {
            Assert.Equal(c[i] >= 0.5f ? 1 : 0, m[i]);
            Assert.InRange(c[i], 0f, 1f);
        }
    }

    [Fact]
    public void Uint8Uint16AndFloatInputsAgree()
    {
        var v = Resin(7);
        AddTexture(v, 0, 32, 0.8, 30, 8);
        var bytes = v.Like<byte>();
        var shorts = v.Like<ushort>();
        for (int i = 0; i < v.Span.Length; i++)
        {
            float x = Math.Clamp(MathF.Round(v.Span[i]), 0, 255);
            v.Span[i] = x;
            bytes.Span[i] = (byte)x;
            shorts.Span[i] = (ushort)(x * 200);
        }

        var f = ClassicalMasker.Run(v).Mask.Span.ToArray();
        Assert.Equal(f, ClassicalMasker.Run(bytes).Mask.Span.ToArray());
        Assert.Equal(f, ClassicalMasker.Run(shorts).Mask.Span.ToArray());
    }

    [Fact]
    public void ConstantVolumeGivesAllZeroMaskWithWarning()
    {
        var v = new Volume<byte>(new Shape3(8, 16, 16));
        v.Span.Fill(77);
        var r = ClassicalMasker.Run(v);
        Assert.Equal(0, Count(r.Mask));
        Assert.Contains(r.Warnings, w => w.Contains("constant", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void AllNaNIsRefused()
    {
        var v = new Volume<float>(new Shape3(4, 8, 8));
        v.Span.Fill(float.NaN);
        var e = Assert.Throws<InvalidVolumeException>(() => ClassicalMasker.Run(v));
        Assert.Contains("finite", e.Message);
    }

    [Fact]
    public void NaNVoxelsAreNonBrainWithWarning()
    {
        var v = Resin(9);
        AddTexture(v, 0, 40, 0.8, 30, 10);
        v[5, 10, 10] = float.NaN;
        v[6, 11, 12] = float.PositiveInfinity;
        var r = ClassicalMasker.Run(v, Fixed);
        Assert.Equal(0, r.Mask[5, 10, 10]);
        Assert.Equal(0, r.Mask[6, 11, 12]);
        Assert.Equal(1, r.Mask[5, 10, 14]);
        Assert.Contains(r.Warnings, w => w.Contains("2 NaN", StringComparison.Ordinal));
    }

    [Fact]
    public void EmptyAxisIsRefused()
    {
        Assert.Throws<InvalidVolumeException>(() => ClassicalMasker.Run(new Volume<byte>(new Shape3(0, 8, 8))));
    }

    [Theory]
    [InlineData(0, "block_size")]
    [InlineData(-3, "block_size")]
    public void NonPositiveBlockSizeIsRefused(int blockSize, string name)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ClassicalMasker.Run(Resin(1), new ClassicalMaskOptions { BlockSize = blockSize }));
        Assert.Equal(name, e.ParamName);
    }

    [Fact]
    public void InvalidSigmasAndThresholdAreRefusedByName()
    {
        var v = Resin(1);
        Assert.Equal("texture_sigma", Assert.Throws<ArgumentOutOfRangeException>(() => ClassicalMasker.Run(v, new() { TextureSigma = 0 })).ParamName);
        Assert.Equal("edge_sigma", Assert.Throws<ArgumentOutOfRangeException>(() => ClassicalMasker.Run(v, new() { EdgeSigma = double.NaN })).ParamName);
        Assert.Equal("dog_sigma_high", Assert.Throws<ArgumentOutOfRangeException>(() => ClassicalMasker.Run(v, new() { DogSigmaLow = 2, DogSigmaHigh = 2 })).ParamName);
        Assert.Equal("threshold", Assert.Throws<ArgumentOutOfRangeException>(() => ClassicalMasker.Run(v, new() { Threshold = -1 })).ParamName);
        Assert.Equal("minimum_region_size", Assert.Throws<ArgumentOutOfRangeException>(() => ClassicalMasker.Run(v, new() { MinimumRegionSize = -1 })).ParamName);
    }

    [Fact]
    public void TwoDimensionalImageWorks()
    {
        var v = Resin(11, new Shape3(1, 96, 96));
        AddTexture(v, 0, 48, 0.8, 30, 12);
        var r = ClassicalMasker.Run(v, ClassicalMaskOptions.Default with { MinimumRegionSize = 10 });
        Assert.True(Mean(r.Mask, 0, 40) > 0.95);
        Assert.True(Mean(r.Mask, 56, 96) < 0.05);
    }

    [Fact]
    public void CancellationStops()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => ClassicalMasker.Run(Resin(1), null, null, cts.Token));
    }

    [Fact]
    public void ProgressIsReportedInOrderUpToOne()
    {
        var reports = new List<double>();
        ClassicalMasker.Run(Resin(1), null, new SyncProgress(r => reports.Add(r.Fraction)));
        Assert.True(reports.Count >= 4);
        Assert.Equal(1.0, reports[^1]);
        Assert.Equal(reports.Order(), reports);
    }

    private sealed class SyncProgress(Action<Core.Progress.ProgressReport> handler) : IProgress<Core.Progress.ProgressReport>
    {
        public void Report(Core.Progress.ProgressReport value) => handler(value);
    }
}
