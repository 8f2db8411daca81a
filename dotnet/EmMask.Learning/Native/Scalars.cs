using TorchSharp;

namespace EmMask.Learning.Native;

/// <summary>
/// Scalars that live as long as the process. TorchSharp 0.107 turns a number into a temporary <see cref="Scalar"/>
/// (<c>a + b</c> is <c>a.add(b, 1)</c>) and passes its native handle without keeping the object alive, so a garbage
/// collection during the native call can finalize it while libtorch reads it (upstream dotnet/TorchSharp#1434). Hot
/// paths pass these instead, or hold a scalar in a <c>using</c> until the call has returned; a training step runs in
/// <see cref="NoCollectionDuring"/>, which also covers the optimiser's and the loss's own temporaries.
/// </summary>
internal static class Scalars
{
    /// <summary>1, the alpha of a plain tensor sum.</summary>
    public static readonly Scalar One = 1.ToScalar();
}
