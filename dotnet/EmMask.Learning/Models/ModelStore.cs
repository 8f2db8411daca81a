using System.Collections;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace EmMask.Learning.Models;

/// <summary>
/// Loads and saves <see cref="MonaiUNet"/> weights.
/// <list type="bullet">
/// <item><c>.safetensors</c> (EM Mask's own format, used for the shipped model): float32 tensors
/// under MONAI's state_dict keys, and in <c>__metadata__</c> the keys <c>emmask.format</c>
/// (= <c>em-mask-unet</c>), <c>emmask.config</c> (<see cref="UNetConfig"/> as JSON) and
/// <c>emmask.normalization</c> (the input normalisation id, see <c>IntensityNormalization</c>).</item>
/// <item><c>.pt</c>/<c>.pth</c>: a PyTorch <c>state_dict</c> saved with <c>torch.save</c> (e.g. from
/// MONAI's UNet). The architecture is inferred from the tensor shapes (strides are assumed to be 2)
/// unless a config is passed.</item>
/// </list>
/// Every failure (missing/corrupt file, missing or unexpected key, wrong shape) is a
/// <see cref="ModelLoadException"/> with a one-line message naming the key and shapes.
/// </summary>
public static class ModelStore
{
    /// <summary>Value of the <c>emmask.format</c> metadata entry.</summary>
    public const string FormatId = "em-mask-unet";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    /// <summary>Loads a model for inference (eval mode) on <paramref name="device"/> ("cpu", "cuda", "auto").</summary>
    /// <param name="path">A .safetensors file written by <see cref="Save"/> or a .pt/.pth PyTorch state_dict.</param>
    /// <param name="device">"cpu", "cuda", "cuda:N" or "auto" (cuda when available, else cpu).</param>
    /// <param name="config">Architecture override; required only for .pt files whose strides are not 2.</param>
    /// <exception cref="ModelLoadException">The file is missing, corrupt or does not fit the architecture.</exception>
    public static (MonaiUNet Model, UNetConfig Config) Load(string path, string device = "cpu", UNetConfig? config = null)
    {
        var (tensors, meta) = ReadStateDict(path);
        try
        {
            config ??= meta.TryGetValue("emmask.config", out var cj) ? ParseConfig(cj, path) : InferConfig(tensors, path);
            var model = new MonaiUNet(config);
            try
            {
                LoadInto(model, tensors, Path.GetFileName(path));
                model.to(ResolveDevice(device));
                model.eval();
                return (model, config);
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>Saves the weights and architecture to a .safetensors file (written atomically).</summary>
    /// <param name="model">The network.</param>
    /// <param name="path">Destination, normally ending in .safetensors.</param>
    /// <param name="metadata">Extra string metadata (e.g. training step); keys starting with "emmask." are reserved.</param>
    public static void Save(MonaiUNet model, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>())
        {
            ["emmask.format"] = FormatId,
            ["emmask.config"] = JsonSerializer.Serialize(ConfigDto.From(model.Config), Json),
            ["emmask.normalization"] = Preprocessing.IntensityNormalization.Id,
        };
        var sd = model.state_dict();
        SafetensorsFile.Write(path, sd.Select(kv => (kv.Key, kv.Value)), meta);
    }

    /// <summary>Reads the metadata of a .safetensors model without building the network.</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        var (tensors, meta) = ReadStateDict(path);
        foreach (var t in tensors.Values) t.Dispose();
        return meta;
    }

    /// <summary>"cpu", "cuda[:N]" or "auto" (cuda when <c>torch.cuda.is_available()</c>).</summary>
    /// <exception cref="ArgumentException">Unknown device name, or cuda requested but unavailable.</exception>
    public static Device ResolveDevice(string device)
    {
        ArgumentException.ThrowIfNullOrEmpty(device);
        var d = device.Trim().ToLowerInvariant();
        if (d == "auto") return cuda.is_available() ? CUDA : CPU;
        if (d == "cpu") return CPU;
        if (d == "cuda" || d.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!cuda.is_available()) throw new ArgumentException($"Device '{device}' requested but CUDA is not available (this build uses the CPU libtorch).", nameof(device));
            return torch.device(d);
        }
        throw new ArgumentException($"Unknown device '{device}'; use cpu, cuda or auto.", nameof(device));
    }

    /// <summary>
    /// Starts libtorch and the device (for CUDA: the context, on the first tensor there) and returns the seconds it
    /// took, so that start-up is reported apart from the weights' load and the compute.
    /// </summary>
    /// <exception cref="ArgumentException">As <see cref="ResolveDevice"/>.</exception>
    public static double StartDevice(string device)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using (var probe = zeros(1, device: ResolveDevice(device)))
        {
            _ = probe.sum().item<float>();
        }

        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>Copies a state_dict into <paramref name="model"/> after checking key sets and shapes.</summary>
    internal static void LoadInto(MonaiUNet model, IReadOnlyDictionary<string, Tensor> tensors, string source)
    {
        var expected = model.state_dict();
        foreach (var key in expected.Keys)
            if (!tensors.ContainsKey(key))
                throw new ModelLoadException($"Model file '{source}' lacks weight '{key}' (shape [{string.Join(",", expected[key].shape)}]); it was saved for a different architecture.");
        foreach (var key in tensors.Keys)
            if (!expected.ContainsKey(key))
                throw new ModelLoadException($"Model file '{source}' has unexpected weight '{key}'; it was saved for a different architecture.");
        foreach (var (key, target) in expected)
        {
            var src = tensors[key];
            if (!src.shape.SequenceEqual(target.shape))
                throw new ModelLoadException($"Model file '{source}': weight '{key}' has shape [{string.Join(",", src.shape)}] but the network expects [{string.Join(",", target.shape)}].");
        }
        using var _ = no_grad();
        foreach (var (key, target) in expected)
            target.copy_(tensors[key]);
    }

    private static (Dictionary<string, Tensor>, Dictionary<string, string>) ReadStateDict(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string name = Path.GetFileName(path);
        if (!File.Exists(path)) throw new ModelLoadException($"Model file '{path}' does not exist.");
        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext == ".safetensors") return SafetensorsFile.Read(path);
        if (ext is ".pt" or ".pth")
        {
            Hashtable table;
            try { table = TorchSharp.PyBridge.PyTorchUnpickler.UnpickleStateDict(path); }
            catch (Exception e) { throw new ModelLoadException($"Model file '{name}' is not a readable PyTorch state_dict ({e.GetType().Name}: {e.Message.Split('\n')[0]}).", e); }
            var dict = new Dictionary<string, Tensor>();
            foreach (DictionaryEntry e in table)
            {
                if (e.Key is not string k || e.Value is not Tensor t)
                    throw new ModelLoadException($"Model file '{name}' is not a plain state_dict (entry '{e.Key}' is not a tensor); save model.state_dict(), not the model.");
                dict[k] = t.to(ScalarType.Float32);
            }
            return (dict, new Dictionary<string, string>());
        }
        throw new ModelLoadException($"Model file '{name}' has unsupported extension '{ext}'; use .safetensors, .pt or .pth.");
    }

    private static UNetConfig ParseConfig(string json, string path)
    {
        try
        {
            var c = JsonSerializer.Deserialize<ConfigDto>(json, Json)!.ToConfig();
            c.Validate();
            return c;
        }
        catch (Exception e) when (e is JsonException or ArgumentException or NullReferenceException)
        {
            throw new ModelLoadException($"Model file '{Path.GetFileName(path)}' has an invalid emmask.config entry: {e.Message.Split('\n')[0]}", e);
        }
    }

    /// <summary>Infers a MONAI UNet config from state_dict shapes (strides assumed 2, dropout 0).</summary>
    internal static UNetConfig InferConfig(IReadOnlyDictionary<string, Tensor> sd, string path)
    {
        string name = Path.GetFileName(path);
        int nru = 0;
        while (sd.ContainsKey($"model.0.conv.unit{nru}.conv.weight")) nru++;
        if (nru == 0 && !sd.ContainsKey("model.0.conv.weight"))
            throw new ModelLoadException($"Model file '{name}' is not a MONAI UNet state_dict (no 'model.0.conv.unit0.conv.weight' or 'model.0.conv.weight').");
        string DownKey(string p) => nru > 0 ? p + "conv.unit0.conv.weight" : p + "conv.weight";
        string UpKey(string p) => nru > 0 ? p + "0.conv.weight" : p + "conv.weight";
        var first = sd[DownKey("model.0.")];
        int inCh = (int)first.shape[1], kernel = (int)first.shape[2];
        var channels = new List<int>();
        string prefix = "model.";
        while (true)
        {
            if (!sd.TryGetValue(DownKey(prefix + "0."), out var w))
                throw new ModelLoadException($"Model file '{name}' lacks weight '{DownKey(prefix + "0.")}' expected in a MONAI UNet.");
            channels.Add((int)w.shape[0]);
            if (sd.TryGetValue(DownKey(prefix + "1.submodule."), out var bottom))
            {
                channels.Add((int)bottom.shape[0]);
                break;
            }
            prefix += "1.submodule.";
            if (channels.Count > 16) throw new ModelLoadException($"Model file '{name}' is not a MONAI UNet state_dict.");
        }
        if (!sd.TryGetValue(UpKey("model.2."), out var up))
            throw new ModelLoadException($"Model file '{name}' lacks weight '{UpKey("model.2.")}' expected in a MONAI UNet.");
        int outCh = (int)up.shape[1], upKernel = (int)up.shape[2];
        return new UNetConfig(3, inCh, outCh, channels, Enumerable.Repeat(2, channels.Count - 1).ToArray(), nru, kernel, upKernel, 0.0);
    }

    private sealed record ConfigDto(int SpatialDims, int InChannels, int OutChannels, int[] Channels, int[] Strides,
        int NumResUnits, int Kernel, int UpKernel, double Dropout, string Norm, string Act)
    {
        public static ConfigDto From(UNetConfig c) => new(c.SpatialDims, c.InChannels, c.OutChannels, c.Channels.ToArray(),
            c.Strides.ToArray(), c.NumResUnits, c.Kernel, c.UpKernel, c.Dropout, c.Norm, c.Act);

        public UNetConfig ToConfig()
        {
            if (Norm != "instance" || Act != "prelu")
                throw new ArgumentException($"unsupported norm '{Norm}' / act '{Act}' (only instance/prelu)");
            return new(SpatialDims, InChannels, OutChannels, Channels, Strides, NumResUnits, Kernel, UpKernel, Dropout);
        }
    }
}
