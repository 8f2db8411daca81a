using EmMask.Core.Masking;
using EmMask.Core.Options;

namespace EmMask.Core.Tests.Masking;

/// <summary>The options record is its own JSON schema: snake_case, unknown keys refused, "auto" for automatic values.</summary>
public class OptionsJsonTests
{
    [Fact]
    public void RoundTripsEveryValue()
    {
        var options = ClassicalMaskOptions.Default with
        {
            BlockSize = 5, TextureSigma = 3.5, Threshold = 2.5, Mode = MaskingMode.TwoD, Level = 2, RefineBoundary = false, DenseThreshold = 0,
        };
        Assert.Equal(options, ClassicalMaskOptions.FromJson(options.ToJson()));
        Assert.Equal(ClassicalMaskOptions.Default, ClassicalMaskOptions.FromJson(ClassicalMaskOptions.Default.ToJson()));
    }

    [Fact]
    public void KeysAreSnakeCaseAndAutoIsWritten()
    {
        var json = ClassicalMaskOptions.Default.ToJson();
        Assert.Contains("\"block_size\":9", json);
        Assert.Contains("\"threshold\":\"auto\"", json);
        Assert.Contains("\"level\":\"auto\"", json);
        Assert.Contains("\"mode\":\"auto\"", json);
        Assert.Equal(OptionsJson.Keys<ClassicalMaskOptions>().Count, System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject().Count);
    }

    [Fact]
    public void MissingKeysKeepDefaultsAndAutoReads()
    {
        var options = ClassicalMaskOptions.FromJson("{\"texture_sigma\": 3, \"threshold\": \"auto\", \"level\": null, \"mode\": \"3d\"}");
        Assert.Equal(3.0, options.TextureSigma);
        Assert.Null(options.Threshold);
        Assert.Null(options.Level);
        Assert.Equal(MaskingMode.ThreeD, options.Mode);
        Assert.Equal(ClassicalMaskOptions.Default.BlockSize, options.BlockSize);
    }

    [Fact]
    public void UnknownKeyIsNamed() =>
        Assert.Contains("dense_gap", Assert.Throws<ArgumentException>(() => ClassicalMaskOptions.FromJson("{\"dense_gap\": 16}")).Message);

    [Fact]
    public void WrongTypeIsNamed() =>
        Assert.Contains("block_size", Assert.Throws<ArgumentException>(() => ClassicalMaskOptions.FromJson("{\"block_size\": \"big\"}")).Message);

    [Fact]
    public void OutOfRangeIsNamed() =>
        Assert.Equal("level", Assert.Throws<ArgumentOutOfRangeException>(() => ClassicalMaskOptions.FromJson("{\"level\": 5}")).ParamName);
}
