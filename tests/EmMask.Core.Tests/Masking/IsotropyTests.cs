using System.Numerics;
using EmMask.Core.Evaluation;
using EmMask.Core.Masking;
using EmMask.Core.Phantom;
using EmMask.Core.Volumes;
using static EmMask.Core.Tests.Masking.TextureVolumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>The isotropy parameter: texture must vary in every orientation; the halo of a sharp edge does not.</summary>
public class IsotropyTests
{
    [Fact]
    public void PenaltyScalesAnisotropicTensorsOnly()
    {
        var one = Vector<float>.One;
        var zero = Vector<float>.Zero;
        // diag(1, 0.8, 0.5): isotropy 0.5, above 0.06: unchanged.
        var iso = SymmetricEigen.Smallest(one, new Vector<float>(0.8f), new Vector<float>(0.5f), zero, zero, zero, 0.06f);
        Assert.Equal(0.5f, iso[0], 1e-3f);
        // diag(100, 1, 0.3): isotropy 0.003, m = 0.003 / 0.06 = 0.05, λ·m³ = 0.3 · 1.25e-4.
        var aniso = SymmetricEigen.Smallest(new Vector<float>(100f), one, new Vector<float>(0.3f), zero, zero, zero, 0.06f);
        Assert.Equal(0.3f * 0.05f * 0.05f * 0.05f, aniso[0], 1e-6f);
        var off = SymmetricEigen.Smallest(new Vector<float>(100f), one, new Vector<float>(0.3f), zero, zero, zero, 0f);
        Assert.Equal(0.3f, off[0], 1e-3f);
    }

    [Fact]
    public void IsotropyRemovesTheHaloOfSharpEdgesOnCleanData()
    {
        // Without noise or blur, sharp tissue and trachea edges leak through the texture window far above the noise.
        var phantom = EmPhantom.Generate(new PhantomOptions { Seed = 2006, Invert = true, Artefacts = false, Shape = new Shape3(64, 128, 128) });
        // The trachea rule is off: it takes untextured lumens out, and more of them exist once the halo is gone. So is the
        // boundary refinement, which takes the halo back too: this measures the texture vote's own halo.
        var atLevel0 = ClassicalMaskOptions.Default with { Level = 0, TracheaGap = 0, RefineBoundary = false };
        var off = ClassicalMasker.Run(phantom.Raw, atLevel0 with { Isotropy = 0 }).Mask;
        var on = ClassicalMasker.Run(phantom.Raw, atLevel0).Mask;
        long haloOff = MaskMetrics.Compute(off, phantom.Truth).FalsePositives, haloOn = MaskMetrics.Compute(on, phantom.Truth).FalsePositives;
        Assert.True(haloOn < haloOff / 2, $"false positives: isotropy 0 {haloOff}, 0.06 {haloOn}");
        var recallOff = MaskMetrics.Compute(off, phantom.Truth).Recall;
        var recallOn = MaskMetrics.Compute(on, phantom.Truth).Recall;
        Assert.True(recallOn > recallOff - 0.03, $"recall: off {recallOff:F4}, on {recallOn:F4}");
    }

    [Fact]
    public void HigherIsotropyKeepsLess()
    {
        var phantom = EmPhantom.Generate(new PhantomOptions { Seed = 2001, Shape = new Shape3(32, 96, 96) });
        long[] counts = new[] { 0.0, 0.06, 0.3 }
            .Select(i => Count(ClassicalMasker.Run(phantom.Raw, ClassicalMaskOptions.Default with { Isotropy = i, Threshold = 2, Level = 0, Mode = MaskingMode.ThreeD }).Mask)).ToArray();
        Assert.True(counts[0] > counts[1] && counts[1] > counts[2], string.Join(", ", counts));
    }

    [Fact]
    public void IsotropyOutOfRangeIsNamed()
    {
        Assert.Equal("isotropy", Assert.Throws<ArgumentOutOfRangeException>(() => (ClassicalMaskOptions.Default with { Isotropy = 1 }).Validate()).ParamName);
        Assert.Equal("isotropy", Assert.Throws<ArgumentOutOfRangeException>(() => (ClassicalMaskOptions.Default with { Isotropy = -0.1 }).Validate()).ParamName);
    }
}
