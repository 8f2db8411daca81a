using EmMask.Core.Volumes;

namespace EmMask.Cli.Services;

/// <summary>Turns any volume read from disk into a 0/1 uint8 mask (nonzero = brain).</summary>
public static class MaskVolumes
{
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
