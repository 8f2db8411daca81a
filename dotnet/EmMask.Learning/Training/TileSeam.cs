using EmMask.Core.Volumes;

namespace EmMask.Learning.Training;

/// <summary>
/// A montage tile seam across every section of a patch: beyond a straight line (constant y or constant x) the image
/// is v·gain + step, as when neighbouring tiles were acquired or exposed differently; optionally the line itself (one
/// voxel) is offset by <c>line</c>, as a stitching gap or overlap shows up. Labels are untouched: a seam is not a border.
/// </summary>
internal static class TileSeam
{
    /// <param name="image">The patch image, C order (z, y, x).</param>
    /// <param name="patch">Patch shape.</param>
    /// <param name="alongX">True: the seam is the line y = <paramref name="position"/> (runs along x); false: x = position.</param>
    /// <param name="position">First row or column of the far tile (1 … length − 1).</param>
    /// <param name="gain">Multiplier beyond the seam.</param>
    /// <param name="step">Offset beyond the seam.</param>
    /// <param name="line">Offset added on the seam's own row or column (0: none).</param>
    public static void Apply(Span<float> image, Shape3 patch, bool alongX, int position, float gain, float step, float line)
    {
        int Y = patch.Y, X = patch.X, plane = Y * X;
        for (int z = 0; z < patch.Z; z++)
        {
            var s = image.Slice(z * plane, plane);
            for (int y = 0; y < Y; y++)
                for (int x = 0; x < X; x++)
                {
                    int c = alongX ? y : x;
                    if (c < position) continue;
                    ref float v = ref s[y * X + x];
                    v = v * gain + step + (c == position ? line : 0f);
                }
        }
    }
}
