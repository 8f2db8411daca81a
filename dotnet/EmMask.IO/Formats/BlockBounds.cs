using EmMask.Core.Volumes;

namespace EmMask.IO.Formats;

/// <summary>Validates a block request against a volume's shape.</summary>
internal static class BlockBounds
{
    public static void Check(Shape3 shape, (int Z, int Y, int X) offset, Shape3 size)
    {
        if (offset.Z < 0 || offset.Y < 0 || offset.X < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, "Block offset must not be negative.");
        }

        if (size.Z <= 0 || size.Y <= 0 || size.X <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "Block size must be positive on every axis.");
        }

        if ((long)offset.Z + size.Z > shape.Z || (long)offset.Y + size.Y > shape.Y || (long)offset.X + size.X > shape.X)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, $"Block at {offset} of size {size} exceeds the volume shape {shape}.");
        }
    }
}
