using EmMask.Core.Volumes;

namespace EmMask.Host.Worker;

/// <summary>The outcome of one worker prediction.</summary>
/// <param name="Probabilities">Foreground probabilities with the input's shape and voxel size.</param>
/// <param name="Windows">Sliding windows planned.</param>
/// <param name="Skipped">Windows skipped as resin without running the model.</param>
/// <param name="WorkerProcessId">The worker process that ran it (stable while the worker is reused).</param>
public sealed record UNetResult(Volume<float> Probabilities, int Windows, int Skipped, int WorkerProcessId);
