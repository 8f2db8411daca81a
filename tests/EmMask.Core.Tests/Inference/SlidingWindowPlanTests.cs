using System.Runtime.CompilerServices;
using System.Text.Json;
using EmMask.Core.Inference;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Inference;

public class SlidingWindowPlanTests
{
    public static TheoryData<int> MonaiCases()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < LoadCases().Length; i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(MonaiCases))]
    public void Windows_match_monai_reference(int caseIndex)
    {
        var c = LoadCases()[caseIndex];
        var plan = SlidingWindowPlan.Create(ToShape(c.Shape), ToShape(c.Roi), c.Overlap, padMultiple: 1, clampRoi: false);

        Assert.Equal(ToShape(c.Padded), plan.PaddedShape);
        Assert.Equal(ToShape(c.PadBefore), plan.PadBefore);
        Assert.Equal(c.Starts.Length, plan.Count);
        for (int i = 0; i < plan.Count; i++)
        {
            Assert.Equal(ToShape(c.Starts[i]), plan[i]);
        }
    }

    [Fact]
    public void Hand_computed_axis_starts()
    {
        // 100 voxels, roi 48, overlap 0.25 -> interval 36: 0, 36, then 72 would pass the end, shifted to 52.
        Assert.Equal(36, SlidingWindowPlan.ScanInterval(100, 48, 0.25));
        Assert.Equal([0, 36, 52], SlidingWindowPlan.AxisStarts(100, 48, 36));

        // Interval never drops below 1, and a window spanning the axis gives one start.
        Assert.Equal(1, SlidingWindowPlan.ScanInterval(10, 3, 0.9));
        Assert.Equal(16, SlidingWindowPlan.ScanInterval(16, 16, 0.5));
        Assert.Equal([0], SlidingWindowPlan.AxisStarts(16, 16, 16));
    }

    [Fact]
    public void Windows_are_multiples_of_sixteen_and_cover_the_volume()
    {
        var shape = new Shape3(37, 70, 101);
        var plan = SlidingWindowPlan.Create(shape, new Shape3(20, 64, 64), 0.25, padMultiple: 16);

        Assert.Equal(new Shape3(32, 64, 64), plan.Roi);
        Assert.Equal(0, plan.Roi.Z % 16);
        var covered = new bool[shape.Length];
        for (int w = 0; w < plan.Count; w++)
        {
            var s = plan[w];
            for (int z = 0; z < plan.Roi.Z; z++)
            {
                for (int y = 0; y < plan.Roi.Y; y++)
                {
                    for (int x = 0; x < plan.Roi.X; x++)
                    {
                        int vz = s.Z + z - plan.PadBefore.Z, vy = s.Y + y - plan.PadBefore.Y, vx = s.X + x - plan.PadBefore.X;
                        Assert.InRange(s.Z + z, 0, plan.PaddedShape.Z - 1);
                        if (vz >= 0 && vz < shape.Z && vy >= 0 && vy < shape.Y && vx >= 0 && vx < shape.X)
                        {
                            covered[shape.Index(vz, vy, vx)] = true;
                        }
                    }
                }
            }
        }

        Assert.All(covered, Assert.True);
    }

    [Fact]
    public void Thin_stack_clamps_the_window_and_pads_to_sixteen()
    {
        // A 2D image must not be padded to a 64-deep window: roi clamps to the volume rounded up to 16.
        var plan = SlidingWindowPlan.Create(new Shape3(1, 20, 200), new Shape3(64, 64, 64), 0.25, padMultiple: 16);

        Assert.Equal(new Shape3(16, 32, 64), plan.Roi);
        Assert.Equal(new Shape3(16, 32, 200), plan.PaddedShape);
        Assert.Equal(new Shape3(7, 6, 0), plan.PadBefore);
        Assert.Equal([0], plan.ZStarts);
        Assert.Equal([0, 48, 96, 136], plan.XStarts);
    }

    [Fact]
    public void Bad_arguments_name_the_parameter()
    {
        Assert.Equal("overlap", Assert.Throws<ArgumentOutOfRangeException>(() => SlidingWindowPlan.Create(new Shape3(4, 4, 4), new Shape3(2, 2, 2), 1.0)).ParamName);
        Assert.Equal("roi", Assert.Throws<ArgumentOutOfRangeException>(() => SlidingWindowPlan.Create(new Shape3(4, 4, 4), new Shape3(0, 2, 2), 0.5)).ParamName);
        Assert.Equal("volume", Assert.Throws<ArgumentOutOfRangeException>(() => SlidingWindowPlan.Create(new Shape3(0, 4, 4), new Shape3(2, 2, 2), 0.5)).ParamName);
    }

    private static Shape3 ToShape(int[] a) => new(a[0], a[1], a[2]);

    private static MonaiCase[] LoadCases([CallerFilePath] string source = "")
    {
        string path = Path.Combine(Path.GetDirectoryName(source)!, "..", "Fixtures", "monai_windows.json");
        return JsonSerializer.Deserialize<MonaiCase[]>(File.ReadAllText(path), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
    }

    private sealed record MonaiCase(int[] Shape, int[] Roi, double Overlap, int[] Padded, int[] PadBefore, int[][] Starts);
}
