using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace EmMask.Learning.Models;

/// <summary>
/// Minimal reader/writer for the safetensors format (8-byte little-endian header length, JSON
/// header with dtype/shape/data_offsets per tensor and a string-to-string <c>__metadata__</c>, raw
/// little-endian data). We write it ourselves so the architecture can travel in the metadata;
/// only F32 tensors are needed for the U-Net. Files load in Python with <c>safetensors.torch.load_file</c>.
/// </summary>
internal static class SafetensorsFile
{
    private const long MaxHeader = 100_000_000;

    public static void Write(string path, IEnumerable<(string Key, Tensor Value)> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var header = new JsonObject();
        var meta = new JsonObject();
        foreach (var (k, v) in metadata) meta[k] = v;
        header["__metadata__"] = meta;
        var blobs = new List<float[]>();
        long offset = 0;
        foreach (var (key, value) in tensors)
        {
            using var cpu = value.detach().to(ScalarType.Float32).cpu().contiguous();
            var data = cpu.data<float>().ToArray();
            header[key] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray(value.shape.Select(s => (JsonNode)JsonValue.Create(s)!).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + 4L * data.Length),
            };
            offset += 4L * data.Length;
            blobs.Add(data);
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int pad = (8 - json.Length % 8) % 8; // keep tensor data 8-byte aligned, as the reference writer does
        var tmp = path + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write))
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(len, json.Length + pad);
            fs.Write(len);
            fs.Write(json);
            for (int i = 0; i < pad; i++) fs.WriteByte((byte)' ');
            foreach (var b in blobs)
                fs.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(b.AsSpan()));
        }
        File.Move(tmp, path, overwrite: true); // never leave a half-written checkpoint under the final name
    }

    /// <summary>Reads all tensors and the metadata; throws <see cref="ModelLoadException"/> on any format problem.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        string name = Path.GetFileName(path);
        if (bytes.Length < 8) throw new ModelLoadException($"Model file '{name}' is truncated (no safetensors header).");
        long hlen = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        if (hlen <= 0 || hlen > MaxHeader || 8 + hlen > bytes.Length)
            throw new ModelLoadException($"Model file '{name}' is not a valid safetensors file (header length {hlen}).");
        JsonObject header;
        try { header = JsonNode.Parse(bytes.AsSpan(8, (int)hlen))!.AsObject(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException)
        { throw new ModelLoadException($"Model file '{name}' has a corrupt safetensors header.", e); }

        long dataStart = 8 + hlen;
        var meta = new Dictionary<string, string>();
        var tensors = new Dictionary<string, Tensor>();
        try
        {
            foreach (var (key, node) in header)
            {
                if (key == "__metadata__")
                {
                    foreach (var (mk, mv) in node!.AsObject()) meta[mk] = mv!.GetValue<string>();
                    continue;
                }
                var obj = node!.AsObject();
                string dtype = obj["dtype"]!.GetValue<string>();
                if (dtype != "F32") throw new ModelLoadException($"Model file '{name}': tensor '{key}' has dtype {dtype}; only F32 is supported.");
                long[] shape = obj["shape"]!.AsArray().Select(n => n!.GetValue<long>()).ToArray();
                long begin = obj["data_offsets"]![0]!.GetValue<long>(), end = obj["data_offsets"]![1]!.GetValue<long>();
                long count = shape.Aggregate(1L, (a, s) => a * s);
                if (begin < 0 || end - begin != 4 * count || dataStart + end > bytes.Length)
                    throw new ModelLoadException($"Model file '{name}' is truncated or corrupt at tensor '{key}'.");
                var data = new float[count];
                Buffer.BlockCopy(bytes, (int)(dataStart + begin), data, 0, (int)(end - begin));
                tensors[key] = tensor(data, shape);
            }
        }
        catch (Exception e) when (e is not ModelLoadException and (InvalidOperationException or FormatException or NullReferenceException or ArgumentException))
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw new ModelLoadException($"Model file '{name}' has a corrupt safetensors header.", e);
        }
        return (tensors, meta);
    }
}
