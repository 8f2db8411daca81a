using System.Text.Json;
using EmMask.Core.Masking;
using EmMask.Core.Volumes;
using EmMask.IO;

namespace EmMask.Cli.Services;

/// <summary>
/// Compiles the code of a mask run's later steps while the input is being read. The classical masker's hot loops are
/// marked for full optimisation, so the JIT compiles them on first use (ReadyToRun cannot hold them), and the HDF5 writer
/// and the attributes' JSON are generic code that ReadyToRun leaves to the JIT too: together about 0.25 s of a cold
/// 256³ run. Reading mostly keeps one core busy, so a classical run on a tiny volume and a tiny in-memory HDF5 write
/// on the other core take that work off the critical path. Their results are discarded.
/// </summary>
internal static class CompilationWarmUp
{
    /// <summary>Edge of the tiny volume: larger than the filters' reach at the default sigmas, negligible to compute.</summary>
    private const int Edge = 24;

    /// <summary>Starts <see cref="Run"/> on the thread pool; the task never faults (a failure only loses the head start).</summary>
    public static Task Start(MaskRequest request) => Task.Run(() =>
    {
        try
        {
            Run(request);
        }
        catch (Exception)
        {
            // Only the head start is lost; the real run reports any real problem.
        }
    });

    /// <summary>The warm-up itself: a classical run on a tiny noise volume (classical requests), the attributes' JSON, and a tiny HDF5 write into memory (HDF5 outputs).</summary>
    internal static void Run(MaskRequest request)
    {
        if (request.Method == "classical")
        {
            ClassicalMasker.Run(NoiseVolume(), request.Classical);
        }

        var attributes = new Dictionary<string, string>
        {
            ["parameters"] = JsonSerializer.Serialize(request.Classical.ToParameters()),
            ["unet"] = request.UNet.ToJson(),
        };
        if (request.Output.Kind == VolumeFileKind.Hdf5)
        {
            VolumeWriter.WarmUpHdf5(new Volume<byte>(new Shape3(1, 1, 1)), attributes);
        }
    }

    // Noise with a brighter half: both classes, so the automatic threshold takes its usual path.
    private static Volume<byte> NoiseVolume()
    {
        var volume = new Volume<byte>(new Shape3(Edge, Edge, Edge));
        var span = volume.Span;
        uint state = 2463534242;
        for (int i = 0; i < span.Length; i++)
        {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            span[i] = (byte)((state % 64) + (i % Edge < Edge / 2 ? 96 : 32));
        }

        return volume;
    }
}
