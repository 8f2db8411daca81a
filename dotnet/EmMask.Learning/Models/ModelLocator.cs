using EmMask.Core.Inference;

namespace EmMask.Learning.Models;

/// <summary>
/// Finds the U-Net model file a caller means. Order: an explicit path (or a <c>builtin:NAME</c> test model, passed
/// through; or a shipped model's name, e.g. <c>em-mask-unet-v1</c>), the EM_MASK_MODEL environment variable, then the
/// default shipped model <c>models/em-mask-unet-v2.safetensors</c> (or <c>.pt</c>) beside the program or in a folder
/// above it (the repository root in a source checkout). The CLI, the worker and the Python bridge all find the model
/// here.
/// </summary>
public static class ModelLocator
{
    /// <summary>Environment variable naming the default model file.</summary>
    public const string EnvironmentVariable = "EM_MASK_MODEL";

    /// <summary>Prefix of the worker's built-in test models.</summary>
    public const string BuiltinPrefix = "builtin:";

    // .safetensors first: it is the format the trainer ships; .pt is the TorchSharp checkpoint fallback.
    private static readonly string[] Extensions = [".safetensors", ".pt"];

    /// <summary>Resolves <paramref name="model"/> (null or blank: the default model) to a full path or a built-in name.</summary>
    /// <exception cref="ModelNotFoundException">The file (named in the message) does not exist.</exception>
    public static string Resolve(string? model, string? searchFrom = null)
    {
        string start = searchFrom ?? Path.GetDirectoryName(typeof(ModelLocator).Assembly.Location) ?? AppContext.BaseDirectory;
        if (!string.IsNullOrWhiteSpace(model))
        {
            if (ShippedModels.Names.Contains(model) && !File.Exists(model))
            {
                return Shipped([model], start);
            }

            return Existing(model, "Model file not found");
        }

        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnvironment)
        {
            // A wrong explicit choice must fail loudly rather than fall back to another model.
            return Existing(fromEnvironment, $"Model file named by {EnvironmentVariable} not found");
        }

        return Shipped([ShippedModels.Default], start);
    }

    private static string Shipped(string[] names, string start)
    {
        var tried = new List<string>();
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            string models = Path.Combine(dir.FullName, "models");
            foreach (string name in names)
            {
                foreach (string extension in Extensions)
                {
                    string candidate = Path.Combine(models, name + extension);
                    if (File.Exists(candidate))
                    {
                        return candidate;
                    }
                }
            }

            if (Directory.Exists(models))
            {
                tried.Add(models);
            }
        }

        string where = tried.Count == 0 ? $"no models/ folder above {start}" : string.Join(", ", tried);
        throw new ModelNotFoundException(
            $"The U-Net model file is missing: models/{names[0]}.safetensors (or .pt) not found ({where}). " +
            $"Pass a model file, or set {EnvironmentVariable}.",
            Path.Combine("models", names[0] + Extensions[0]));
    }

    /// <summary>True for the worker's built-in test models (<c>builtin:identity</c>, ...).</summary>
    public static bool IsBuiltin(string model) => model.StartsWith(BuiltinPrefix, StringComparison.Ordinal);

    private static string Existing(string model, string what)
    {
        if (IsBuiltin(model))
        {
            return model;
        }

        string full = Path.GetFullPath(model);
        return File.Exists(full) ? full : throw new ModelNotFoundException($"{what}: {full}", full);
    }
}

/// <summary>The U-Net model file a call needs does not exist; the message names it.</summary>
public sealed class ModelNotFoundException : FileNotFoundException
{
    /// <summary>Creates the exception.</summary>
    public ModelNotFoundException(string message, string fileName)
        : base(message, fileName)
    {
    }
}
