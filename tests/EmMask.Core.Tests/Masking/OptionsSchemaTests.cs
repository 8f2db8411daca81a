using System.Text.Json.Nodes;
using EmMask.Core.Masking;
using EmMask.Core.Options;

namespace EmMask.Core.Tests.Masking;

/// <summary>The schema every front end is built from describes each parameter of the record, with its real default.</summary>
public class OptionsSchemaTests
{
    [Fact]
    public void EveryParameterIsDescribedWithItsDefault()
    {
        var entries = OptionsSchema.Describe(ClassicalMaskOptions.Default);
        var json = JsonNode.Parse(ClassicalMaskOptions.Default.ToJson())!.AsObject();
        Assert.Equal(json.Select(p => p.Key).OrderBy(k => k), entries.Select(e => e.Key).OrderBy(k => k));
        foreach (var e in entries)
        {
            Assert.Equal(json[e.Key]!.ToJsonString(), e.Default!.ToJsonString());
            Assert.False(string.IsNullOrWhiteSpace(e.Help), e.Key);
        }
    }

    [Fact]
    public void KindsChoicesAndRanges()
    {
        var entries = OptionsSchema.Describe(ClassicalMaskOptions.Default).ToDictionary(e => e.Key);
        Assert.Equal(["auto", "2d", "3d"], entries["mode"].Choices);
        Assert.Equal(["auto", "0", "1", "2", "3"], entries["level"].Choices);
        Assert.True(entries["threshold"].Auto);
        Assert.Equal("float", entries["threshold"].Kind);
        Assert.Equal("int", entries["block_size"].Kind);
        Assert.Equal("bool", entries["refine_boundary"].Kind);
        Assert.Equal("refine", entries["refine_boundary"].Cli);
        Assert.Equal("min-region-size", entries["minimum_region_size"].Cli);
        Assert.Equal(1, entries["block_size"].Minimum);
    }

    [Fact]
    public void TheModelIsAFileOrAShippedModelsNameTheDefaultFirst()
    {
        var entries = OptionsSchema.Describe(EmMask.Core.Inference.UNetMaskOptions.Default).ToDictionary(e => e.Key);
        Assert.Equal("string", entries["model"].Kind);
        Assert.Empty(entries["model"].Choices); // any file is allowed
        Assert.Equal(EmMask.Core.Inference.ShippedModels.Names, entries["model"].Suggestions);
        Assert.Equal(EmMask.Core.Inference.ShippedModels.Default, entries["model"].Suggestions[0]);
        Assert.Empty(entries["roi"].Suggestions);
        var json = JsonNode.Parse(OptionsSchema.ToJson(EmMask.Core.Inference.UNetMaskOptions.Default))!.AsArray();
        var model = json.Single(e => e!["key"]!.GetValue<string>() == "model")!;
        Assert.Equal(["em-mask-unet-v2", "em-mask-unet-v1"], model["suggestions"]!.AsArray().Select(n => n!.GetValue<string>()));
    }

    [Fact]
    public void ARecordWithAnUndescribedParameterIsRefused() =>
        Assert.Contains("Undescribed", Assert.Throws<InvalidOperationException>(() => OptionsSchema.Describe(new Undocumented())).Message);

    private sealed record Undocumented
    {
        public int Undescribed { get; init; }
    }
}
