using EmMask.Core.Masking;
using EmMask.Core.Volumes;
using static EmMask.Core.Tests.Masking.TextureVolumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>Exact-constant padding is found; noise, small plateaus and a gradient are not padding.</summary>
public class PaddingDetectorTests
{
    [Fact]
    public void ZeroBorderIsPaddingAndNoisyTissueIsNot()
    {
        var v = Resin(1, new Shape3(2, 64, 64));
        for (int z = 0; z < 2; z++)
        {
            for (int y = 0; y < 64; y++)
            {
                for (int x = 40; x < 64; x++)
                {
                    v[z, y, x] = 0;
                }
            }
        }

        var padding = PaddingDetector.Detect(v);
        Assert.NotNull(padding);
        Assert.Equal(1.0, Mean(padding, 40, 64));
        Assert.Equal(0.0, Mean(padding, 0, 40));
    }

    [Fact]
    public void ClippedDarkStainingIsNotPaddingButAThreeVoxelBorderStripIs()
    {
        // Noise in a 128 × 128 section; a 64 × 64 dark patch where 65 % of the voxels are clipped to 0 (as dark staining
        // brought to 8 bits): its zeros form a large ragged 4-connected component with a few dozen fully equal 3×3
        // neighbourhoods, so it passes the area and core-count bars, but not the core share. A strip of 255 three voxels
        // wide along the right border (a third of it cores) is padding.
        var v = Resin(4, new Shape3(1, 128, 128));
        var random = new Random(5);
        var zero = new bool[128, 128];
        for (int y = 32; y < 96; y++)
        {
            for (int x = 16; x < 80; x++)
            {
                zero[y, x] = random.NextDouble() < 0.65;
                v[0, y, x] = zero[y, x] ? 0 : 1 + (float)(10 * random.NextDouble());
            }
        }

        for (int y = 0; y < 128; y++)
        {
            for (int x = 125; x < 128; x++)
            {
                v[0, y, x] = 255;
            }
        }

        var (size, core) = LargestZeroComponent(zero);
        Assert.True(PaddingDetector.IsPadding(size, core) == false && size >= PaddingDetector.MinimumArea && core >= PaddingDetector.MinimumCore,
            $"the clipped component must pass the area and core bars and fail the share: {size} voxels, {core} cores");
        var padding = PaddingDetector.Detect(v);
        Assert.NotNull(padding);
        Assert.Equal(0.0, Mean(padding, 16, 80));
        Assert.Equal(1.0, Mean(padding, 125, 128));
    }

    // The largest 4-connected component of the marked voxels and its cores (all eight neighbours marked, inside the section).
    private static (int Size, int Core) LargestZeroComponent(bool[,] marked)
    {
        int ny = marked.GetLength(0), nx = marked.GetLength(1);
        var seen = new bool[ny, nx];
        (int Size, int Core) best = (0, 0);
        for (int sy = 0; sy < ny; sy++)
        {
            for (int sx = 0; sx < nx; sx++)
            {
                if (!marked[sy, sx] || seen[sy, sx])
                {
                    continue;
                }

                int size = 0, core = 0;
                var queue = new Queue<(int Y, int X)>([(sy, sx)]);
                seen[sy, sx] = true;
                while (queue.TryDequeue(out var p))
                {
                    size++;
                    bool all = p.Y > 0 && p.X > 0 && p.Y + 1 < ny && p.X + 1 < nx;
                    for (int dy = -1; all && dy <= 1; dy++)
                    {
                        for (int dx = -1; dx <= 1; dx++)
                        {
                            all &= marked[p.Y + dy, p.X + dx];
                        }
                    }

                    core += all ? 1 : 0;
                    foreach (var (y, x) in new[] { (p.Y - 1, p.X), (p.Y + 1, p.X), (p.Y, p.X - 1), (p.Y, p.X + 1) })
                    {
                        if (y >= 0 && x >= 0 && y < ny && x < nx && marked[y, x] && !seen[y, x])
                        {
                            seen[y, x] = true;
                            queue.Enqueue((y, x));
                        }
                    }
                }

                if (size > best.Size)
                {
                    best = (size, core);
                }
            }
        }

        return best;
    }

    [Fact]
    public void JpegRingingNextToThePaddingIsPaddingButTissueIsNot()
    {
        // A 96 × 96 section: tissue (100 ± 20) in x < 48, zero padding beyond; in the 6 columns next to the tissue the
        // padding rings as JPEG leaves it (0–15, a third exactly 0). A dark tissue column at x = 20 (value 10, within the
        // tolerance but 28 steps from the padding) and the tissue column next to the ringing (value 40, beyond a quarter
        // of the contrast of 100) stay tissue; the ringing joins the padding.
        var random = new Random(3);
        var v = new Volume<float>(new Shape3(1, 96, 96));
        for (int y = 0; y < 96; y++)
        {
            for (int x = 0; x < 96; x++)
            {
                v[0, y, x] = x < 48 ? 100 + (float)(40 * (random.NextDouble() - 0.5))
                    : x < 54 ? (random.NextDouble() < 1.0 / 3 ? 0 : (float)Math.Round(15 * random.NextDouble()))
                    : 0;
            }

            v[0, y, 20] = 10;
            v[0, y, 47] = 40;
        }

        var padding = PaddingDetector.Detect(v)!;
        Assert.Equal(1.0, Mean(padding, 48, 96));
        Assert.Equal(0.0, Mean(padding, 0, 48));

        // Beyond the reach the ringing is not padding: the same band 12 columns wide keeps its far half.
        for (int y = 0; y < 96; y++)
        {
            for (int x = 48; x < 60; x++)
            {
                v[0, y, x] = 1 + (float)Math.Round(14 * random.NextDouble());
            }
        }

        padding = PaddingDetector.Detect(v)!;
        Assert.Equal(1.0, Mean(padding, 60 - PaddingFringe.Reach, 96));
        Assert.Equal(0.0, Mean(padding, 0, 60 - PaddingFringe.Reach));
    }

    [Fact]
    public void NoiseAloneHasNoPadding() => Assert.Null(PaddingDetector.Detect(Resin(2, new Shape3(1, 64, 64))));

    [Fact]
    public void PlateausSmallerThanTheMinimumAreaAreKept()
    {
        var v = Resin(3, new Shape3(1, 64, 64));
        for (int y = 10; y < 25; y++)
        {
            for (int x = 10; x < 25; x++)
            {
                v[0, y, x] = 255; // 15 × 15 = 225 voxels < 256
            }
        }

        Assert.Null(PaddingDetector.Detect(v));
    }

    [Fact]
    public void SmoothRampWithoutRepeatsIsNotPadding()
    {
        var v = new Volume<float>(new Shape3(1, 64, 64));
        for (int y = 0; y < 64; y++)
        {
            for (int x = 0; x < 64; x++)
            {
                v[0, y, x] = (y * 64) + x;
            }
        }

        Assert.Null(PaddingDetector.Detect(v));
    }
}
