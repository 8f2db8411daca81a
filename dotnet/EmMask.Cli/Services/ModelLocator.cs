namespace EmMask.Cli.Services;

/// <summary>Finds the shipped U-Net: <c>EM_MASK_MODEL</c>, else <c>models/em-mask-unet-v2.*</c> (or v1's) in a folder above the program.</summary>
public static class ModelLocator
{
    /// <summary>File names of the shipped model, in order of preference.</summary>
    public static readonly string[] ShippedNames = ["em-mask-unet-v2.safetensors", "em-mask-unet-v2.pt", "em-mask-unet-v1.safetensors", "em-mask-unet-v1.pt"];

    /// <summary>The default model path; throws <see cref="FileNotFoundException"/> naming where it looked.</summary>
    public static string Default()
    {
        if (Environment.GetEnvironmentVariable("EM_MASK_MODEL") is { Length: > 0 } fromEnvironment)
        {
            return fromEnvironment;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (string name in ShippedNames)
            {
                string candidate = Path.Combine(dir.FullName, "models", name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new FileNotFoundException($"The shipped U-Net (models/{ShippedNames[0]}) was not found above {AppContext.BaseDirectory}; pass --model PATH or set EM_MASK_MODEL.");
    }
}
