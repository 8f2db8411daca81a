namespace EmMask.Core.Labeling;

/// <summary>
/// Which neighbours of a voxel count as connected, by the number of neighbours in 3D. Per-slice (2D) operations
/// use the in-plane analogue: <see cref="Face"/> is 4-connectivity, <see cref="Edge"/> and <see cref="Vertex"/> are 8.
/// </summary>
public enum Connectivity
{
    /// <summary>6 neighbours sharing a face (scipy's default structure, rank 1).</summary>
    Face = 6,

    /// <summary>18 neighbours sharing a face or an edge.</summary>
    Edge = 18,

    /// <summary>26 neighbours sharing a face, an edge or a corner (scipy's full 3×3×3 structure).</summary>
    Vertex = 26,
}

/// <summary>Validation and parsing helpers for <see cref="Connectivity"/>.</summary>
public static class ConnectivityExtensions
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming <paramref name="parameterName"/> unless the value is 6, 18 or 26.</summary>
    public static Connectivity Validate(this Connectivity connectivity, string parameterName = "connectivity")
    {
        if (connectivity is not (Connectivity.Face or Connectivity.Edge or Connectivity.Vertex))
        {
            throw new ArgumentOutOfRangeException(parameterName, (int)connectivity, "Connectivity must be 6 (face), 18 (edge) or 26 (vertex).");
        }

        return connectivity;
    }
}
