using TorchSharp;

namespace EmMask.Learning.Tests.Native;

/// <summary>The native TorchSharp library loads (needs the GLIBCXX weakening build step on Debian 12).</summary>
public class TorchLoadTests
{
    [Fact]
    public void OnesOfTwoSumsToTwo()
    {
        using var t = torch.ones(2);
        Assert.Equal(2f, t.sum().item<float>());
    }
}
