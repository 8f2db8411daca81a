using System.Text.Json;
using EmMask.Learning.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace EmMask.Learning.Tests.Models;

/// <summary>
/// Our MonaiUNet against a plain-torch rebuild of MONAI's UNet (tests/fixtures/monai_unet_reference.py,
/// run in a separate Python process; its outputs are the checked-in fixtures).
/// </summary>
public class MonaiUNetCheckpointTests
{
    private static readonly UNetConfig SmallRes2 = new(3, 1, 1, [4, 8, 16], [2, 2], 2, 3, 3, 0);
    private static readonly UNetConfig SmallRes0 = new(3, 1, 1, [4, 8, 16], [2, 2], 0, 3, 3, 0);

    private static List<(string Key, long[] Shape)> PythonKeys(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestNpy.Fixture("MonaiUNet", name)));
        return doc.RootElement.EnumerateArray()
            .Select(e => (e[0].GetString()!, e[1].EnumerateArray().Select(x => x.GetInt64()).ToArray())).ToList();
    }

    private static void AssertSameKeys(UNetConfig config, string keysFile)
    {
        using var net = new MonaiUNet(config);
        var ours = net.state_dict().Select(kv => (kv.Key, kv.Value.shape)).ToList();
        var theirs = PythonKeys(keysFile);
        Assert.Equal(theirs.Select(k => k.Key).Order(), ours.Select(k => k.Key).Order());
        var shapes = ours.ToDictionary(k => k.Key, k => k.shape);
        foreach (var (key, shape) in theirs)
            Assert.True(shape.SequenceEqual(shapes[key]), $"{key}: python [{string.Join(",", shape)}] vs ours [{string.Join(",", shapes[key])}]");
    }

    [Fact]
    public void DefaultConfigKeysAndShapesEqualMonai() => AssertSameKeys(UNetConfig.Default, "default_keys.json");

    [Fact]
    public void SmallConfigKeysAndShapesEqualMonai()
    {
        AssertSameKeys(SmallRes2, "small_res2_keys.json");
        AssertSameKeys(SmallRes0, "small_res0_keys.json");
    }

    [Theory]
    [InlineData("small_res2", true)]
    [InlineData("small_res0", false)]
    public void PytorchCheckpointGivesPytorchOutput(string name, bool residual)
    {
        var (model, config) = ModelStore.Load(TestNpy.Fixture("MonaiUNet", name + ".pt"), "cpu");
        using var _m = model;
        Assert.Equal(residual ? SmallRes2 : SmallRes0, config); // inferred from the shapes
        var (x, xs) = TestNpy.Read(TestNpy.Fixture("MonaiUNet", name + "_input.npy"));
        var (y, ys) = TestNpy.Read(TestNpy.Fixture("MonaiUNet", name + "_output.npy"));
        using var input = tensor(x, xs);
        using var __ = no_grad();
        using var output = model.forward(input);
        Assert.Equal(ys, output.shape);
        var got = output.data<float>().ToArray();
        double maxErr = got.Zip(y, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(maxErr < 1e-4, $"max |diff| = {maxErr}");
        Assert.True(y.Select(Math.Abs).Max() > 0.1, "reference output is not trivially zero");
    }

    [Fact]
    public void SafetensorsRoundTripKeepsWeightsAndConfig()
    {
        var dir = Directory.CreateTempSubdirectory("emmask-unet-");
        try
        {
            var (model, config) = ModelStore.Load(TestNpy.Fixture("MonaiUNet", "small_res2.pt"));
            using var _m = model;
            var path = Path.Combine(dir.FullName, "m.safetensors");
            ModelStore.Save(model, path, new Dictionary<string, string> { ["step"] = "7" });
            var (again, config2) = ModelStore.Load(path);
            using var _a = again;
            Assert.Equal(config, config2);
            var a = model.state_dict();
            foreach (var (k, v) in again.state_dict())
                Assert.True(v.equal(a[k]).all().item<bool>(), k);
            var meta = ModelStore.ReadMetadata(path);
            Assert.Equal("7", meta["step"]);
            Assert.Equal(ModelStore.FormatId, meta["emmask.format"]);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void MissingFileIsModelLoadException()
    {
        var e = Assert.Throws<ModelLoadException>(() => ModelStore.Load("/nonexistent/model.safetensors"));
        Assert.Contains("does not exist", e.Message);
    }

    [Theory]
    [InlineData(".safetensors")]
    [InlineData(".pt")]
    public void CorruptFileIsModelLoadException(string ext)
    {
        var path = Path.Combine(Path.GetTempPath(), $"emmask-corrupt-{Guid.NewGuid():N}{ext}");
        File.WriteAllBytes(path, [.. Enumerable.Range(0, 300).Select(i => (byte)(i * 37 % 251))]);
        try
        {
            var e = Assert.Throws<ModelLoadException>(() => ModelStore.Load(path));
            Assert.Contains(Path.GetFileName(path), e.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void TruncatedSafetensorsIsModelLoadException()
    {
        var dir = Directory.CreateTempSubdirectory("emmask-unet-");
        try
        {
            using var net = new MonaiUNet(SmallRes2);
            var path = Path.Combine(dir.FullName, "t.safetensors");
            ModelStore.Save(net, path);
            var bytes = File.ReadAllBytes(path);
            File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);
            var e = Assert.Throws<ModelLoadException>(() => ModelStore.Load(path));
            Assert.Contains("truncated", e.Message);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void WrongShapeNamesKeyAndShapes()
    {
        var other = SmallRes2 with { Channels = [4, 8, 32] };
        var e = Assert.Throws<ModelLoadException>(() => ModelStore.Load(TestNpy.Fixture("MonaiUNet", "small_res2.pt"), "cpu", other));
        Assert.Contains("'model.1.submodule.1.submodule.conv.unit0.conv.weight'", e.Message);
        Assert.Contains("[16,8,3,3,3]", e.Message);
        Assert.Contains("[32,8,3,3,3]", e.Message);
    }

    [Fact]
    public void MissingKeyIsNamed()
    {
        var e = Assert.Throws<ModelLoadException>(() => ModelStore.Load(TestNpy.Fixture("MonaiUNet", "small_res0.pt"), "cpu", SmallRes2));
        Assert.Contains("lacks weight 'model.0.conv.unit0.conv.weight'", e.Message);
    }

    [Fact]
    public void UnknownDeviceIsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => ModelStore.ResolveDevice("tpu"));
        Assert.Equal(cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU, ModelStore.ResolveDevice("auto").type);
        Assert.Equal(DeviceType.CPU, ModelStore.ResolveDevice("cpu").type);
    }
}
