using EmMask.Core.Volumes;
using EmMask.IO.Formats;

namespace EmMask.Cli.Services;

/// <summary>
/// A PNG of a few z slices side by side: the EM with the mask outline (green) and the reference outline (magenta) on the
/// top row, the confidence map on the bottom row.
/// </summary>
public static class Montage
{
    private const int Gap = 4;

    /// <summary>Renders and writes the montage; returns the slice indices shown.</summary>
    public static int[] Write(string path, Volume<byte> raw, Volume<byte> mask, Volume<byte>? reference, Volume<float>? confidence, int slices = 4)
    {
        var shape = raw.Shape;
        int count = Math.Clamp(slices, 1, shape.Z);
        var zs = Enumerable.Range(0, count).Select(i => (int)((i + 1) * (long)shape.Z / (count + 1))).Select(z => Math.Clamp(z, 0, shape.Z - 1)).ToArray();
        int rows = confidence is null ? 1 : 2;
        int width = (count * shape.X) + ((count - 1) * Gap);
        int height = (rows * shape.Y) + ((rows - 1) * Gap);
        var rgb = new byte[width * height * 3];
        Array.Fill(rgb, (byte)255);
        for (int i = 0; i < count; i++)
        {
            int z = zs[i];
            int left = i * (shape.X + Gap);
            for (int y = 0; y < shape.Y; y++)
            {
                for (int x = 0; x < shape.X; x++)
                {
                    byte g = raw[z, y, x];
                    var colour = (g, g, g);
                    if (reference is not null && IsOutline(reference, z, y, x))
                    {
                        colour = (230, 40, 230);
                    }

                    if (IsOutline(mask, z, y, x))
                    {
                        colour = (40, 230, 40);
                    }

                    Put(rgb, width, left + x, y, colour);
                    if (confidence is not null)
                    {
                        byte c = (byte)Math.Clamp(confidence[z, y, x] * 255f, 0f, 255f);
                        Put(rgb, width, left + x, shape.Y + Gap + y, (c, c, c));
                    }
                }
            }
        }

        PngWriter.WriteRgb(path, rgb, width, height);
        return zs;
    }

    private static void Put(byte[] rgb, int width, int x, int y, (byte R, byte G, byte B) colour)
    {
        int o = ((y * width) + x) * 3;
        rgb[o] = colour.R;
        rgb[o + 1] = colour.G;
        rgb[o + 2] = colour.B;
    }

    // A mask voxel with a 4-neighbour (in its slice) outside the mask or the image.
    private static bool IsOutline(Volume<byte> mask, int z, int y, int x)
    {
        if (mask[z, y, x] == 0)
        {
            return false;
        }

        var s = mask.Shape;
        return y == 0 || x == 0 || y == s.Y - 1 || x == s.X - 1
            || mask[z, y - 1, x] == 0 || mask[z, y + 1, x] == 0 || mask[z, y, x - 1] == 0 || mask[z, y, x + 1] == 0;
    }
}
