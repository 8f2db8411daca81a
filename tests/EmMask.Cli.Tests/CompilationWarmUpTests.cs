using EmMask.Cli.Services;
using EmMask.Core.Masking;
using EmMask.Core.PostProcessing;
using EmMask.IO;

namespace EmMask.Cli.Tests;

/// <summary>
/// The warm-up swallows its own failures (it is only a head start), so these tests call its body directly: a warm-up
/// that threw would silently stop saving time.
/// </summary>
public class CompilationWarmUpTests
{
    [Theory]
    [InlineData("classical", "out.h5:/mask")]
    [InlineData("classical", "out.tif")]
    [InlineData("unet", "out.h5:/mask")]
    public async Task WarmUpRunsWithoutTouchingTheFileSystem(string method, string output)
    {
        using var t = new TempFolder();
        var request = new MaskRequest(
            VolumePath.Parse(t["in.h5"], "/raw"), VolumePath.Parse(t[output], "/mask"), null, method,
            ClassicalMaskOptions.Default with { BlockSize = 5 }, EmMask.Core.Inference.UNetMaskOptions.Default, PostProcessPipeline.Parse("none"), Force: false);
        CompilationWarmUp.Run(request);
        Assert.Empty(Directory.EnumerateFileSystemEntries(t.Path));
        await CompilationWarmUp.Start(request).WaitAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public void Hdf5WarmUpWritesEveryElementType()
    {
        var attributes = new Dictionary<string, string> { ["method"] = "classical" };
        foreach (var like in new EmMask.Core.Volumes.IVolume[]
                 {
                     new EmMask.Core.Volumes.Volume<byte>(new(1, 1, 1)), new EmMask.Core.Volumes.Volume<ushort>(new(1, 1, 1)),
                     new EmMask.Core.Volumes.Volume<float>(new(1, 1, 1)), new EmMask.Core.Volumes.Volume<int>(new(1, 1, 1)),
                 })
        {
            VolumeWriter.WarmUpHdf5(like, attributes);
        }
    }
}
