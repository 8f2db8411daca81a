using EmMask.Core.Progress;
using EmMask.Host.Bridge;

namespace EmMask.Host.Tests.Bridge;

public sealed unsafe class NumpyBridgeTests
{
    [Fact]
    public void Inspect_ReadsContiguousMemoryInPlace()
    {
        byte[] data = Enumerable.Range(0, 2 * 3 * 4).Select(i => (byte)i).ToArray();
        fixed (byte* p = data)
        {
            var job = new BridgeJob();
            var result = NumpyBridge.Inspect((long)p, [2, 3, 4], [12, 4, 1], "|u1", job);
            Assert.True(result.Ok, result.Message);
            Assert.Equal(data.Sum(b => (double)b), result.Value);
            Assert.Equal((long)p, job.InputAddress);
            Assert.False(job.InputCopied);
        }
    }

    [Fact]
    public void Inspect_GathersStridedAndReversedViews()
    {
        ushort[] data = Enumerable.Range(0, 4 * 6).Select(i => (ushort)(i * 3)).ToArray();
        fixed (ushort* p = data)
        {
            // numpy a.reshape(4, 6)[::-1, ::2]: start at the last row, strides (-12, 4) bytes
            var job = new BridgeJob();
            long start = (long)p + (3 * 6 * 2);
            var result = NumpyBridge.Inspect(start, [4, 3], [-12, 4], "<u2", job);
            Assert.True(result.Ok, result.Message);
            double expected = 0;
            for (int y = 0; y < 4; y++)
            {
                for (int x = 0; x < 6; x += 2)
                {
                    expected += data[(y * 6) + x];
                }
            }

            Assert.Equal(expected, result.Value);
            Assert.True(job.InputCopied);
        }
    }

    [Theory]
    [InlineData("<f8", "not supported")]
    [InlineData("<i4", "not supported")]
    public void Inspect_RejectsUnsupportedDtypes(string dtype, string fragment)
    {
        var result = NumpyBridge.Inspect(0, [1, 1], [8, 8], dtype, new BridgeJob());
        Assert.False(result.Ok);
        Assert.Equal("argument", result.ErrorKind);
        Assert.Contains(fragment, result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PostProcess_InPlaceEditsTheCallersBuffer()
    {
        var mask = new byte[4 * 8 * 8];
        for (int z = 1; z < 3; z++)
        {
            for (int y = 2; y < 6; y++)
            {
                for (int x = 2; x < 6; x++)
                {
                    mask[(z * 64) + (y * 8) + x] = 1;
                }
            }
        }

        mask[0] = 1; // debris
        fixed (byte* p = mask)
        {
            var result = NumpyBridge.PostProcess((long)p, [4, 8, 8], [64, 8, 1], "|u1", (long)p, "largest:1", 1, 1, 1, new BridgeJob());
            Assert.True(result.Ok, result.Message);
            Assert.StartsWith("largest", result.Json, StringComparison.Ordinal); // the canonical spec that ran
        }

        Assert.Equal(0, mask[0]);
        Assert.Equal(2 * 4 * 4, mask.Sum(b => b));
    }

    [Fact]
    public void PostProcess_ReportsBadSpecsWithoutTheParameterSuffix()
    {
        var mask = new byte[8];
        fixed (byte* p = mask)
        {
            var result = NumpyBridge.PostProcess((long)p, [2, 4], [4, 1], "|u1", (long)p, "grow:-1", 1, 1, 1, new BridgeJob());
            Assert.False(result.Ok);
            Assert.Equal("argument", result.ErrorKind);
            Assert.Contains("grow:-1", result.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("(Parameter", result.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Job_CancelledBeforeTheCall_GivesACancelledResult()
    {
        var mask = new byte[8 * 8 * 8];
        var job = new BridgeJob();
        job.Cancel();
        fixed (byte* p = mask)
        {
            var result = NumpyBridge.PostProcess((long)p, [8, 8, 8], [64, 8, 1], "|u1", (long)p, "fill3d", 1, 1, 1, job);
            Assert.False(result.Ok);
            Assert.Equal("cancelled", result.ErrorKind);
        }
    }

    [Fact]
    public void Job_KeepsTheLatestReport()
    {
        var job = new BridgeJob();
        Assert.Equal("queued", job.Stage);
        ((IProgress<ProgressReport>)job).Report(new ProgressReport("gaussian", 0.25));
        Assert.Equal("gaussian", job.Stage);
        Assert.Equal(0.25, job.Fraction);
    }

    [Fact]
    public void Failure_MapsExceptionKinds()
    {
        Assert.Equal("cancelled", BridgeResult.Failure(new OperationCanceledException()).ErrorKind);
        Assert.Equal("format", BridgeResult.Failure(new EmMask.IO.VolumeFormatException("bad file")).ErrorKind);
        var outOfRange = BridgeResult.Failure(new ArgumentOutOfRangeException("block_size", 0, "block_size must be >= 1."));
        Assert.Equal("argument", outOfRange.ErrorKind);
        Assert.Equal("block_size must be >= 1.", outOfRange.Message);
        var bug = BridgeResult.Failure(new NullReferenceException("oops"));
        Assert.Equal("internal", bug.ErrorKind);
        Assert.StartsWith("NullReferenceException", bug.Message, StringComparison.Ordinal);
        Assert.Contains("oops", bug.Details, StringComparison.Ordinal);
    }
}
