using EmMask.Learning.Models;

namespace EmMask.Learning.Tests.Models;

public sealed class ModelLocatorTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("emmask-models-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Resolve_PassesBuiltinsThroughAndMakesExplicitPathsFull()
    {
        Assert.Equal("builtin:slow", ModelLocator.Resolve("builtin:slow"));
        string file = Path.Combine(_root, "m.pt");
        File.WriteAllText(file, "x");
        Assert.Equal(file, ModelLocator.Resolve(file));
    }

    [Fact]
    public void Resolve_NamesAMissingExplicitFile()
    {
        string missing = Path.Combine(_root, "gone.safetensors");
        var error = Assert.Throws<ModelNotFoundException>(() => ModelLocator.Resolve(missing));
        Assert.Contains(missing, error.Message);
        Assert.Equal(missing, error.FileName);
    }

    [Fact]
    public void Resolve_FindsTheShippedModelInAFolderAboveAndPrefersSafetensors()
    {
        string deep = Directory.CreateDirectory(Path.Combine(_root, "dotnet", "EmMask.Host", "bin", "Release")).FullName;
        string models = Directory.CreateDirectory(Path.Combine(_root, "models")).FullName;
        File.WriteAllText(Path.Combine(models, "em-mask-unet-v2.pt"), "x");
        Assert.Equal(Path.Combine(models, "em-mask-unet-v2.pt"), ModelLocator.Resolve(null, deep));
        File.WriteAllText(Path.Combine(models, "em-mask-unet-v2.safetensors"), "x");
        Assert.Equal(Path.Combine(models, "em-mask-unet-v2.safetensors"), ModelLocator.Resolve("  ", deep));
        File.WriteAllText(Path.Combine(models, "em-mask-unet-v1.pt"), "x");
        Assert.Equal(Path.Combine(models, "em-mask-unet-v2.safetensors"), ModelLocator.Resolve(null, deep)); // v2 is the default
        Assert.Equal(Path.Combine(models, "em-mask-unet-v1.pt"), ModelLocator.Resolve("em-mask-unet-v1", deep)); // by name
        File.WriteAllText(Path.Combine(models, "em-mask-unet-v1.safetensors"), "x");
        Assert.Equal(Path.Combine(models, "em-mask-unet-v1.safetensors"), ModelLocator.Resolve("em-mask-unet-v1", deep));
        Assert.Equal(Path.Combine(models, "em-mask-unet-v2.safetensors"), ModelLocator.Resolve("em-mask-unet-v2", deep));
        Assert.Throws<ModelNotFoundException>(() => ModelLocator.Resolve("em-mask-unet-v3", deep)); // not a shipped name: a path
    }

    [Fact]
    public void Resolve_SaysTheDefaultModelIsMissingAndWhereItLooked()
    {
        string deep = Directory.CreateDirectory(Path.Combine(_root, "a", "b")).FullName;
        Directory.CreateDirectory(Path.Combine(_root, "models"));
        var error = Assert.Throws<ModelNotFoundException>(() => ModelLocator.Resolve(null, deep));
        Assert.Contains("em-mask-unet-v2", error.Message);
        Assert.Contains(Path.Combine(_root, "models"), error.Message);
    }
}
