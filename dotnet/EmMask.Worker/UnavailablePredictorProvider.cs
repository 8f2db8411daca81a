using EmMask.Core.Inference;
using EmMask.Learning.Inference;

namespace EmMask.Worker;

/// <summary>
/// Stands in for the predictor provider when the libtorch chosen with <c>EMMASK_LIBTORCH</c> cannot be used: the worker
/// still starts and answers, and every request that needs the network fails with the one-line reason.
/// </summary>
public sealed class UnavailablePredictorProvider(Exception reason) : IPredictorProvider
{
    /// <inheritdoc/>
    public LoadedModel Get(string modelPath, string device, Precision precision = Precision.Fp32) =>
        throw new InvalidOperationException(reason.Message, reason);
}
