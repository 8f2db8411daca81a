using EmMask.Core.Volumes;

namespace EmMask.Core.Inference;

/// <summary>The outcome of <see cref="SlidingWindowInferer.Run"/>.</summary>
/// <param name="Probabilities">Blended probabilities with the input's shape and voxel size.</param>
/// <param name="Windows">Number of windows in the plan (at the working scale).</param>
/// <param name="Skipped">Windows set to 0 by tile skipping without running the predictor.</param>
public sealed record SlidingWindowResult(Volume<float> Probabilities, int Windows, int Skipped);
