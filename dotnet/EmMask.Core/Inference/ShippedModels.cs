namespace EmMask.Core.Inference;

/// <summary>
/// The U-Net models that ship in <c>models/</c> and that a bare name selects (<c>--model em-mask-unet-v1</c>); the
/// default first. The model locator resolves them, and the options' schema offers them to widgets beside a file.
/// </summary>
public static class ShippedModels
{
    /// <summary>
    /// File name (without extension) of the default model: v2, fine-tuned on real EM. It is the better model on every
    /// real image it was not trained on; on held-out phantoms it is 0.009 Dice below v1 (model card:
    /// <c>models/README.md</c>, "The default is v2").
    /// </summary>
    public const string Default = "em-mask-unet-v2";

    /// <summary>The first model, trained on phantoms only; still shipped, chosen by name.</summary>
    public const string PhantomOnly = "em-mask-unet-v1";

    /// <summary>Every shipped model's name, the default first.</summary>
    public static IReadOnlyList<string> Names { get; } = [Default, PhantomOnly];
}
