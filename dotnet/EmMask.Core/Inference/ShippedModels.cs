namespace EmMask.Core.Inference;

/// <summary>
/// The U-Net models that ship in <c>models/</c> and that a bare name selects (<c>--model em-mask-unet-v2</c>); the
/// default first. The model locator resolves them, and the options' schema offers them to widgets beside a file.
/// </summary>
public static class ShippedModels
{
    /// <summary>
    /// File name (without extension) of the default model. v1 stays the default: v2 (fine-tuned on real EM) did not meet
    /// the acceptance rule written in its model card before it was scored (held-out phantoms).
    /// </summary>
    public const string Default = "em-mask-unet-v1";

    /// <summary>The model fine-tuned on real EM (model card: <c>models/README.md</c>).</summary>
    public const string RealEm = "em-mask-unet-v2";

    /// <summary>Every shipped model's name, the default first.</summary>
    public static IReadOnlyList<string> Names { get; } = [Default, RealEm];
}
