using EmMask.Core.Volumes;

namespace EmMask.IO.Tests.Formats;

/// <summary>
/// Single PNG / JPEG / BMP images, written by Pillow (the format's reference for most EM users' tools) and read as
/// volumes: grey images are one section with their exact values, colour ones (H, W, 3) for the luminance path; a
/// one-section uint8 volume is written as a PNG that Pillow reads back exactly.
/// </summary>
public class RasterImageTests
{
    // Writes the same pseudo-random 40 × 50 images in each format, and each one's values (as Pillow decodes them) as .npy.
    private const string Writer = """
import sys, numpy as np
from PIL import Image
d = sys.argv[1]
r = np.random.default_rng(7)
g8 = (r.random((40, 50)) * 255).astype(np.uint8)
g16 = (r.random((40, 50)) * 65535).astype(np.uint16)
rgb = (r.random((40, 50, 3)) * 255).astype(np.uint8)
Image.fromarray(g8).save(f"{d}/g8.png")
Image.fromarray(g16).save(f"{d}/g16.png")
y, x = np.mgrid[0:120, 0:90]
Image.fromarray((4000 + 30 * y + 7 * x + (x * y) % 13).astype(np.uint16)).save(f"{d}/g16smooth.png")
Image.fromarray(rgb).save(f"{d}/rgb.png")
Image.fromarray(np.dstack([rgb, g8])).save(f"{d}/rgba.png")
Image.fromarray(g8).save(f"{d}/g8.bmp")
Image.fromarray(rgb).save(f"{d}/rgb.bmp")
Image.fromarray(g8).save(f"{d}/g8.jpg", quality=90)
import struct, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
la = np.dstack([g16, np.full_like(g16, 65535)]).astype(">u2")  # 16-bit grey with alpha (colour type 4), filter 0
rows = b"".join(b"\x00" + la[y].tobytes() for y in range(la.shape[0]))
with open(f"{d}/g16alpha.png", "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 50, 40, 16, 4, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
np.save(f"{d}/g16alpha.png.npy", g16)
for name in ("g8.png", "g16.png", "g16smooth.png", "rgb.png", "rgba.png", "g8.bmp", "rgb.bmp", "g8.jpg"):
    a = np.asarray(Image.open(f"{d}/{name}"))
    if a.ndim == 3:
        a = a[..., :3]
    np.save(f"{d}/{name}.npy", np.ascontiguousarray(a))
""";

    [PillowFact]
    public void GreyAndColourImagesReadAsPillowDecodesThem()
    {
        using var dir = new TempDir();
        Python.Run(Writer, dir.Path);
        foreach (var (name, shape, rank) in new[]
        {
            ("g8.png", new Shape3(1, 40, 50), 2), ("g16.png", new Shape3(1, 40, 50), 2), ("g16smooth.png", new Shape3(1, 120, 90), 2),
            ("g16alpha.png", new Shape3(1, 40, 50), 2), ("g8.bmp", new Shape3(1, 40, 50), 2),
            ("rgb.png", new Shape3(40, 50, 3), 3), ("rgba.png", new Shape3(40, 50, 3), 3), ("rgb.bmp", new Shape3(40, 50, 3), 3),
        })
        {
            var path = VolumePath.Parse(dir.File(name), "/raw");
            var image = VolumeReader.Read(path);
            var expected = VolumeReader.Read(VolumePath.Parse(dir.File(name + ".npy"), "/raw"));
            Assert.Equal(shape, image.Shape);
            Assert.Equal(shape, VolumeReader.ReadShape(path));
            Assert.Equal(rank, VolumeReader.ReadRank(path));
            Assert.Equal(name.StartsWith("g16", StringComparison.Ordinal) ? VoxelType.UInt16 : VoxelType.UInt8, image.VoxelType);
            Assert.True(Values(image).SequenceEqual(Values(expected)), $"{name}: values differ from Pillow's");
        }
    }

    [PillowFact]
    public void AJpegReadsWithinTwoGreyLevelsOfPillow()
    {
        using var dir = new TempDir();
        Python.Run(Writer, dir.Path);
        var image = VolumeReader.Read(VolumePath.Parse(dir.File("g8.jpg"), "/raw"));
        var expected = Values(VolumeReader.Read(VolumePath.Parse(dir.File("g8.jpg.npy"), "/raw")));
        Assert.Equal(new Shape3(1, 40, 50), image.Shape);
        var got = Values(image);
        Assert.True(got.Zip(expected).All(p => Math.Abs(p.First - p.Second) <= 2), "decoders differ by more than 2 grey levels");
    }

    [PillowFact]
    public void AMaskWrittenAsPngIsReadBackExactlyByPillow()
    {
        using var dir = new TempDir();
        var mask = new Volume<byte>(new Shape3(1, 33, 47));
        for (int i = 0; i < mask.Span.Length; i++)
        {
            mask.Span[i] = (byte)((i * 7) % 3 == 0 ? 1 : 0);
        }

        string file = dir.File("mask.png");
        VolumeWriter.Write(VolumePath.Parse(file, "/mask"), mask, new VolumeWriteOptions());
        string sum = Python.Run("import sys, numpy as np; from PIL import Image; a = np.asarray(Image.open(sys.argv[1])); print(a.shape, a.dtype, int((a.astype(np.int64) * np.arange(a.size).reshape(a.shape)).sum()))", file);
        long expected = 0;
        for (int i = 0; i < mask.Span.Length; i++)
        {
            expected += mask.Span[i] * (long)i;
        }

        Assert.Equal($"(33, 47) uint8 {expected}", sum);
        Assert.Equal(mask.Span.ToArray(), ((Volume<byte>)VolumeReader.Read(VolumePath.Parse(file, "/mask"))).Span.ToArray());
    }

    [Fact]
    public void OnlyOneEightBitSectionGoesToAnImageAndNothingIsWrittenOtherwise()
    {
        using var dir = new TempDir();
        var stack = new Volume<byte>(new Shape3(2, 8, 8));
        var ex = Assert.Throws<VolumeFormatException>(() => VolumeWriter.Write(VolumePath.Parse(dir.File("m.png"), "/m"), stack, new VolumeWriteOptions()));
        Assert.Contains("one 8-bit section", ex.Message);
        var wide = new Volume<float>(new Shape3(1, 8, 8));
        Assert.Throws<VolumeFormatException>(() => VolumeWriter.Write(VolumePath.Parse(dir.File("c.png"), "/c"), wide, new VolumeWriteOptions()));
        var jpeg = Assert.Throws<VolumeFormatException>(() => VolumeWriter.Write(VolumePath.Parse(dir.File("m.jpg"), "/m"), new Volume<byte>(new Shape3(1, 8, 8)), new VolumeWriteOptions()));
        Assert.Contains("read only", jpeg.Message);
        Assert.Empty(dir.Entries());
    }

    [Fact]
    public void TruncatedOrForeignImageFilesAreOneClearError()
    {
        using var dir = new TempDir();
        var mask = new Volume<byte>(new Shape3(1, 64, 64));
        for (int i = 0; i < mask.Span.Length; i++)
        {
            mask.Span[i] = (byte)(i * 37 % 251);
        }

        string good = dir.File("good.png");
        VolumeWriter.Write(VolumePath.Parse(good, "/m"), mask, new VolumeWriteOptions());
        byte[] bytes = File.ReadAllBytes(good);
        string cut = dir.File("cut.png");
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
        string text = dir.File("text.jpg");
        File.WriteAllText(text, "not an image");
        foreach (var (file, fragment) in new[] { (cut, "truncated"), (text, "not a readable"), (dir.File("missing.bmp"), "not found") })
        {
            var ex = Assert.Throws<VolumeFormatException>(() => VolumeReader.Read(VolumePath.Parse(file, "/raw")));
            Assert.Contains(file, ex.Message);
            Assert.Contains(fragment, ex.Message);
            Assert.DoesNotContain('\n', ex.Message);
        }
    }

    private static double[] Values(IVolume v) => v switch
    {
        Volume<byte> b => b.Span.ToArray().Select(x => (double)x).ToArray(),
        Volume<ushort> u => u.Span.ToArray().Select(x => (double)x).ToArray(),
        Volume<float> f => f.Span.ToArray().Select(x => (double)x).ToArray(),
        _ => throw new NotSupportedException(v.VoxelType.ToString()),
    };
}
