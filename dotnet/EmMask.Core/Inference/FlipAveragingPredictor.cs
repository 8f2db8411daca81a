using System.Numerics.Tensors;
using EmMask.Core.Volumes;

namespace EmMask.Core.Inference;

/// <summary>
/// Test-time augmentation by flips: each batch is also predicted mirrored along axes, each prediction is mirrored
/// back, and the probabilities are averaged. This smooths a network's boundary decisions at the cost of one predictor
/// call per flip (as empanada-napari's TTA option).
/// </summary>
public sealed class FlipAveragingPredictor : IPatchPredictor
{
    private readonly IPatchPredictor _inner;
    private readonly bool[][] _flips; // per augmentation: flip z, y, x
    private float[] _flipped = [];
    private float[] _output = [];

    /// <summary>Wraps <paramref name="inner"/>; <paramref name="count"/> is 1, 4 (none, z, y, x) or 8 (every subset of axes).</summary>
    public FlipAveragingPredictor(IPatchPredictor inner, int count)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
        _flips = FlipSets(count);
    }

    /// <summary>Wraps <paramref name="inner"/> with explicit flip sets (per set: flip z, y, x).</summary>
    public FlipAveragingPredictor(IPatchPredictor inner, bool[][] flips)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(flips);
        if (flips.Length == 0 || flips.Any(f => f is not { Length: 3 }))
        {
            throw new ArgumentException("Each flip set needs three flags (z, y, x).", nameof(flips));
        }

        _inner = inner;
        _flips = flips;
    }

    /// <summary>The wrapped predictor.</summary>
    public IPatchPredictor Inner => _inner;

    /// <summary>The flip sets (per set: flip z, y, x).</summary>
    public IReadOnlyList<bool[]> Flips => _flips;

    /// <summary>The flip sets for a count; throws for anything but 1, 4 or 8.</summary>
    public static bool[][] FlipSets(int count) => count switch
    {
        1 => [[false, false, false]],
        4 => [[false, false, false], [true, false, false], [false, true, false], [false, false, true]],
        8 => Enumerable.Range(0, 8).Select(m => new[] { (m & 4) != 0, (m & 2) != 0, (m & 1) != 0 }).ToArray(),
        _ => throw new ArgumentOutOfRangeException(nameof(count), count, "Test-time flips must be 1, 4 or 8."),
    };

    /// <inheritdoc/>
    public void Predict(ReadOnlySpan<float> batch, int batchSize, Shape3 patch, Span<float> probabilities)
    {
        int n = batch.Length;
        if (_flipped.Length < n)
        {
            _flipped = new float[n];
            _output = new float[n];
        }

        var flipped = _flipped.AsSpan(0, n);
        var output = _output.AsSpan(0, n);
        probabilities.Clear();
        int length = (int)patch.Length;
        foreach (var axes in _flips)
        {
            for (int b = 0; b < batchSize; b++)
            {
                Mirror(batch.Slice(b * length, length), flipped.Slice(b * length, length), patch, axes);
            }

            output.Clear();
            _inner.Predict(flipped, batchSize, patch, output);
            for (int b = 0; b < batchSize; b++)
            {
                // Mirroring is its own inverse; accumulate into the caller's buffer via the input scratch.
                Mirror(output.Slice(b * length, length), flipped.Slice(b * length, length), patch, axes);
            }

            TensorPrimitives.Add(probabilities, flipped, probabilities);
        }

        TensorPrimitives.Multiply(probabilities, 1f / _flips.Length, probabilities);
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="destination"/> mirrored along the chosen axes (z, y, x).</summary>
    internal static void Mirror(ReadOnlySpan<float> source, Span<float> destination, Shape3 shape, bool[] axes)
    {
        int nz = shape.Z, ny = shape.Y, nx = shape.X;
        for (int z = 0; z < nz; z++)
        {
            int sz = axes[0] ? nz - 1 - z : z;
            for (int y = 0; y < ny; y++)
            {
                int sy = axes[1] ? ny - 1 - y : y;
                var from = source.Slice(((sz * ny) + sy) * nx, nx);
                var to = destination.Slice(((z * ny) + y) * nx, nx);
                from.CopyTo(to);
                if (axes[2])
                {
                    to.Reverse();
                }
            }
        }
    }
}
