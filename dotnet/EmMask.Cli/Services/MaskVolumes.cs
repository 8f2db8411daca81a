using EmMask.Core.Volumes;

namespace EmMask.Cli.Services;

/// <summary>Turns any volume read from disk into a 0/1 uint8 mask (nonzero = brain).</summary>
public static class MaskVolumes
{
    /// <summary>Value that marks an unlabelled voxel in a uint8 reference (the real-EM corpus's "unknown").</summary>
    public const byte Ignore = 255;

    /// <summary>The labelled voxels of a uint8 reference (value ≠ <see cref="Ignore"/>), or null when every voxel is labelled.</summary>
    public static Volume<byte>? LabelledRegion(IVolume reference)
    {
        if (reference is not Volume<byte> v || v.Span.IndexOf(Ignore) < 0)
        {
            return null;
        }

        var region = new Volume<byte>(v.Shape, v.VoxelSize);
        var r = region.Span;
        var s = v.Span;
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = s[i] == Ignore ? (byte)0 : (byte)1;
        }

        return region;
    }

    /// <summary>Binarises; a float mask counts values >= 0.5 as brain (probability maps work too).</summary>
    public static Volume<byte> ToMask(IVolume volume, string name)
    {
        var mask = new Volume<byte>(volume.Shape, volume.VoxelSize);
        var m = mask.Span;
        switch (volume)
        {
            case Volume<byte> v:
                var b = v.Span;
                for (int i = 0; i < m.Length; i++)
                {
                    m[i] = b[i] != 0 ? (byte)1 : (byte)0;
                }

                break;
            case Volume<ushort> v:
                var u = v.Span;
                for (int i = 0; i < m.Length; i++)
                {
                    m[i] = u[i] != 0 ? (byte)1 : (byte)0;
                }

                break;
            case Volume<float> v:
                var f = v.Span;
                for (int i = 0; i < m.Length; i++)
                {
                    m[i] = f[i] >= 0.5f ? (byte)1 : (byte)0;
                }

                break;
            default:
                throw new NotSupportedException($"{name}: cannot use {volume.VoxelType} data as a mask.");
        }

        return mask;
    }
}
