using System.Text.Json.Nodes;
using EmMask.Core.Volumes;

namespace EmMask.Host.Bridge;

/// <summary>
/// The options JSON the Python side writes: a method's options in their JSON form plus <c>voxel_size</c> (z, y, x).
/// </summary>
internal static class BridgeOptions
{
    /// <summary>Splits off <c>voxel_size</c> (isotropic when absent) and returns the rest, for the method's own parser.</summary>
    /// <param name="json">The JSON object.</param>
    /// <param name="method">The method's name, for the error message.</param>
    public static (string OptionsJson, VoxelSize VoxelSize) SplitVoxelSize(string json, string method)
    {
        ArgumentNullException.ThrowIfNull(json);
        var node = JsonNode.Parse(json)?.AsObject() ?? throw new ArgumentException($"{method} options must be a JSON object.", nameof(json));
        var voxelSize = VoxelSize.Isotropic;
        if (node["voxel_size"] is { } size)
        {
            double[] s = size.AsArray().Select(e => e!.GetValue<double>()).ToArray();
            if (s.Length != 3)
            {
                throw new ArgumentException("voxel_size needs 3 values (z, y, x).", nameof(json));
            }

            voxelSize = new VoxelSize(s[0], s[1], s[2]).Validate();
            node.Remove("voxel_size");
        }

        return (node.ToJsonString(), voxelSize);
    }
}
