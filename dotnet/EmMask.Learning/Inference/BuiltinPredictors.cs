using EmMask.Core.Inference;
using EmMask.Core.Volumes;

namespace EmMask.Learning.Inference;

/// <summary>
/// Test-only "models" addressed as <c>builtin:NAME</c>, so the client and protocol are testable without libtorch.
/// </summary>
public static class BuiltinPredictors
{
    public const string Prefix = "builtin:";

    public static IPatchPredictor Create(string name) => name switch
    {
        "identity" => new Identity(0),
        "slow" => new Identity(200),
        "threshold" => new Threshold(),
        "fail" => new Fail(),
        "hang" => new Hang(),
        // slow:MS, a batch that takes MS milliseconds: exercises cancels that arrive in the middle of a long batch.
        _ when name.StartsWith("slow:", StringComparison.Ordinal) && int.TryParse(name.AsSpan(5), out int ms) && ms >= 0 => new Identity(ms),
        _ => throw new ArgumentException($"Unknown built-in model '{Prefix}{name}' (known: identity, slow, slow:MS, threshold, fail, hang)."),
    };

    private sealed class Identity(int delayMs) : IPatchPredictor
    {
        public void Predict(ReadOnlySpan<float> batch, int batchSize, Shape3 patch, Span<float> probabilities)
        {
            batch.CopyTo(probabilities);
            if (delayMs > 0)
            {
                Thread.Sleep(delayMs);
            }
        }
    }

    private sealed class Threshold : IPatchPredictor
    {
        public void Predict(ReadOnlySpan<float> batch, int batchSize, Shape3 patch, Span<float> probabilities)
        {
            for (int i = 0; i < batch.Length; i++)
            {
                probabilities[i] = batch[i] > 0 ? 1f : 0f;
            }
        }
    }

    /// <summary>Never returns and ignores cancellation, like a wedged native call: exercises the client's timeouts.</summary>
    private sealed class Hang : IPatchPredictor
    {
        public void Predict(ReadOnlySpan<float> batch, int batchSize, Shape3 patch, Span<float> probabilities) =>
            Thread.Sleep(Timeout.Infinite);
    }

    private sealed class Fail : IPatchPredictor
    {
        public void Predict(ReadOnlySpan<float> batch, int batchSize, Shape3 patch, Span<float> probabilities) =>
            throw new InvalidOperationException("builtin:fail always fails.");
    }
}
