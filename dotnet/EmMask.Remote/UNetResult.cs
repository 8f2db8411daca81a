using EmMask.Core.Volumes;

namespace EmMask.Remote;

/// <summary>The outcome of one U-Net run in the worker (the worker runs the whole method, <c>UNetMasker</c>).</summary>
/// <param name="Probabilities">Foreground probabilities with the input's shape and voxel size (0 outside the envelope when it gates).</param>
/// <param name="Windows">Sliding windows planned.</param>
/// <param name="Skipped">Windows skipped (outside the tissue envelope) without running the model.</param>
/// <param name="Scale">The working scale used.</param>
/// <param name="Model">The model file (or built-in name) the worker resolved and used.</param>
/// <param name="Warnings">The method's warnings.</param>
/// <param name="Notes">The method's notes.</param>
/// <param name="WorkerProcessId">The worker process that ran it (stable while the worker is reused).</param>
public sealed record UNetResult(Volume<float> Probabilities, int Windows, int Skipped, int Scale, string Model, IReadOnlyList<string> Warnings, IReadOnlyList<string> Notes, int WorkerProcessId);
