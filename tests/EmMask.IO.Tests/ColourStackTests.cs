using EmMask.Core.Volumes;

namespace EmMask.IO.Tests;

/// <summary>
/// A colour stack (a C-ordered npy of (Z, Y, X, 3 or 4), a colour TIFF of several pages, a folder of colour images) is
/// read as the Rec. 601 luminance of each section, whole and block by block. Until 2026-12-07 each was refused.
/// </summary>
public class ColourStackTests
{
    [TifffileFact]
    public void EachFormatReadsTheLuminanceOfEverySectionWholeAndByBlock()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("sections"));
        // Channels that differ, so a wrong weight, order or stride shows: R = x + 3z, G = 2y, B = 255 - x; alpha 7.
        Python.Run(
            """
            import sys, numpy as np, tifffile
            from PIL import Image
            z, y, x = np.mgrid[:3, :20, :30]
            rgb = np.stack([x + 3 * z, 2 * y, 255 - x], -1).astype('u1')
            np.save(sys.argv[1], np.concatenate([rgb, np.full(rgb.shape[:3] + (1,), 7, 'u1')], -1))
            tifffile.imwrite(sys.argv[2], rgb, photometric='rgb')
            for k in range(3):
                Image.fromarray(rgb[k]).save(f"{sys.argv[3]}/s_{k}.png")
            """,
            dir.File("rgba.npy"), dir.File("rgb.tif"), dir.File("sections"));

        foreach (string file in new[] { dir.File("rgba.npy"), dir.File("rgb.tif"), dir.File("sections") })
        {
            var path = new VolumePath(file, null);
            Assert.True(VolumeReader.ReadColourStack(path), file);
            Assert.Equal(new Shape3(3, 20, 30), VolumeReader.ReadShape(path));
            Assert.Equal(3, VolumeReader.ReadRank(path));
            var whole = Assert.IsType<Volume<float>>(VolumeReader.Read(path));
            Assert.Equal(new Shape3(3, 20, 30), whole.Shape);
            foreach (var (z, y, x) in new[] { (0, 0, 0), (1, 5, 7), (2, 19, 29) })
            {
                double expected = (0.299 * (x + (3 * z))) + (0.587 * 2 * y) + (0.114 * (255 - x));
                Assert.Equal(expected, whole[z, y, x], 3);
            }

            var block = VolumeReader.ReadBlock(path, (1, 4, 6), new Shape3(2, 9, 11));
            Assert.Equal(VolumeRegions.Crop(whole, (1, 4, 6), new Shape3(2, 9, 11)).Span.ToArray(), ((Volume<float>)block).Span.ToArray());
        }
    }

    [Fact]
    public void GreyInputsAndSingleColourImagesAreNotColourStacks()
    {
        using var dir = new TempDir();
        var grey = new VolumePath(dir.File("g.npy"), null);
        VolumeWriter.Write(grey, new Volume<byte>(new Shape3(2, 16, 16)), VolumeWriteOptions.Default);
        Assert.False(VolumeReader.ReadColourStack(grey));
        var single = new VolumePath(dir.File("rgb.npy"), null);
        VolumeWriter.Write(single, new Volume<byte>(new Shape3(16, 16, 3)), VolumeWriteOptions.Default);
        Assert.False(VolumeReader.ReadColourStack(single)); // (H, W, 3): its callers take its luminance
    }
}
