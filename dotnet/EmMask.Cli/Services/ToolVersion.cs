using System.Reflection;

namespace EmMask.Cli.Services;

/// <summary>The version string stored beside every output.</summary>
public static class ToolVersion
{
    /// <summary>e.g. "emmask 0.1.0".</summary>
    public static string Text { get; } = "emmask " + (typeof(ToolVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0");
}
