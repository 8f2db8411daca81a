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
