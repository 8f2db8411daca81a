using EmMask.Host.Bridge;
using EmMask.Remote;

namespace EmMask.Host.Tests.Bridge;

/// <summary>The U-Net entry of the Python bridge turns every failure into a named kind with a one-line message.</summary>
public sealed class UNetBridgeErrorTests
{
    [Fact]
    public void UNetMask_ReportsAMissingModelAsUnavailable()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"gone-{Guid.NewGuid():N}.pt");
        byte[] one = [7];
        var handle = System.Runtime.InteropServices.GCHandle.Alloc(one, System.Runtime.InteropServices.GCHandleType.Pinned);
        BridgeResult result;
        try
        {
            result = NumpyBridge.UNetMask(handle.AddrOfPinnedObject(), [1, 1, 1], [1, 1, 1], "uint8", missing, "{}", new BridgeJob());
        }
        finally
        {
            handle.Free();
        }

        Assert.False(result.Ok);
        Assert.Equal("unavailable", result.ErrorKind);
        Assert.Contains(missing, result.Message);
    }

    [Theory]
    [InlineData("""{"roi": [16, 16]}""", "roi")]
    [InlineData("""{"overlap": 1.0}""", "overlap")]
    [InlineData("""{"device": "tpu"}""", "device")]
    [InlineData("""{"tta": 3}""", "tta")]
    [InlineData("""{"typo": 1}""", "typo")]
    public void UNetMask_RefusesBadOptionsNamingThem(string json, string named)
    {
        var result = NumpyBridge.UNetMask(0, [1, 1, 1], [1, 1, 1], "|u1", "builtin:identity", json, new BridgeJob());
        Assert.False(result.Ok);
        Assert.Equal("argument", result.ErrorKind);
        Assert.Contains(named, result.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("FileNotFoundException", "unavailable")]
    [InlineData("ArgumentException", "argument")]
    [InlineData("InvalidOperationException", "argument")]
    [InlineData("ExternalException", "internal")]
    [InlineData(null, "internal")]
    public void Failure_MapsWorkerErrorsByTheirRemoteType(string? remoteType, string kind) =>
        Assert.Equal(kind, BridgeResult.Failure(new WorkerException("boom", remoteType)).ErrorKind);

    [Fact]
    public void Failure_MapsACrashedWorkerToItsOwnKind()
    {
        var result = BridgeResult.Failure(new WorkerCrashedException("The EmMask U-Net worker exited unexpectedly."));
        Assert.Equal("worker", result.ErrorKind);
        Assert.Equal("The EmMask U-Net worker exited unexpectedly.", result.Message);
    }
}
