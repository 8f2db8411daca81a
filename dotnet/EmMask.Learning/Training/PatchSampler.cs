using EmMask.Core.Volumes;

namespace EmMask.Learning.Training;

/// <summary>
/// Draws class-balanced training patches: the centre is a random voxel of a randomly chosen kind
/// (tissue, far resin/non-brain, label boundary, or non-brain near tissue) so thin structures and
/// rare classes are seen as often as bulk tissue. "Near tissue" (within <see cref="NearRadius"/>
/// voxels, box distance, of a tissue voxel) is what finds tracheae and holes inside the tissue:
/// by volume they are a tiny part of all non-brain voxels. Out-of-volume voxels (small volumes) get image 0 and weight 0;
/// with a labelled-region mask only labelled voxels are centres and carry weight. A fifth kind, "focus", draws centres
/// from a volume's <see cref="TrainingVolume.Focus"/> mask (hard structures the caller wants seen more often).
/// </summary>
internal sealed class PatchSampler
{
    private const int MaxCandidates = 1 << 21; // cap per list; a deterministic stride subsample keeps memory bounded

    /// <summary>Box radius (voxels) within which a non-brain voxel counts as near tissue.</summary>
    public const int NearRadius = 8;

    private readonly IReadOnlyList<TrainingVolume> volumes;
    private readonly int[][][] candidates; // [volume][kind] flat indices
    private readonly double[][] weights; // [volume][kind]: the balance, 0 where a kind has no candidates

    private readonly bool thinAsSections;

    /// <param name="volumes">The training volumes.</param>
    /// <param name="balance">Relative frequencies of the four centre kinds.</param>
    /// <param name="focus">Relative frequency of focus centres.</param>
    /// <param name="thinAsSections">
    /// A volume with fewer sections than the patch gives a 2-D patch: the centre's section in every plane (labels and
    /// weights too). False: the volume is centred in the patch and padded with zeros of weight 0.
    /// </param>
    public PatchSampler(IReadOnlyList<TrainingVolume> volumes, (double Tissue, double Resin, double Boundary, double NearTissue) balance, double focus = 0, bool thinAsSections = false)
    {
        this.volumes = volumes;
        this.thinAsSections = thinAsSections;
        double[] b = [balance.Tissue, balance.Resin, balance.Boundary, balance.NearTissue, focus];
        candidates = volumes.Select(Candidates).ToArray();
        if (candidates.All(c => c.All(k => k.Length == 0)))
            throw new ArgumentException("No labelled voxels to sample patches from.", nameof(volumes));
        weights = candidates.Select(c => c.Select((k, i) => k.Length > 0 ? b[i] : 0).ToArray()).ToArray();
        // If no requested kind exists anywhere (e.g. tissue only, but every tissue voxel is a boundary),
        // fall back to every kind that does exist rather than looping forever.
        if (weights.All(w => w.Sum() <= 0))
            weights = candidates.Select(c => c.Select(k => k.Length > 0 ? 1.0 : 0).ToArray()).ToArray();
    }

    /// <summary>Fills one patch (image, 0/1 label as float, weight) of shape <paramref name="patch"/>; returns the volume and centre voxel drawn.</summary>
    public (int Volume, Shape3 Centre) Sample(TrainingRandom rng, Shape3 patch, Span<float> image, Span<float> label, Span<float> weight) =>
        Sample(rng, PickVolume(rng), patch, image, label, weight);

    /// <summary>Draws the volume of the next patch (uniformly among those with centres): the first draw of <see cref="Sample(TrainingRandom, Shape3, Span{float}, Span{float}, Span{float})"/>.</summary>
    public int PickVolume(TrainingRandom rng)
    {
        int vi;
        do vi = rng.Next(volumes.Count); while (weights[vi].Sum() <= 0);
        return vi;
    }

    /// <summary>Fills one patch from volume <paramref name="vi"/> (from <see cref="PickVolume"/>); returns it and the centre voxel drawn.</summary>
    public (int Volume, Shape3 Centre) Sample(TrainingRandom rng, int vi, Shape3 patch, Span<float> image, Span<float> label, Span<float> weight)
    {
        int kind = PickKind(rng, weights[vi]);
        var list = candidates[vi][kind];
        var vol = volumes[vi];
        var s = vol.Image.Shape;
        long centre = list[rng.Next(list.Length)];
        int cz = (int)(centre / ((long)s.Y * s.X)), cy = (int)(centre / s.X % s.Y), cx = (int)(centre % s.X);
        int z0 = Start(cz, patch.Z, s.Z), y0 = Start(cy, patch.Y, s.Y), x0 = Start(cx, patch.X, s.X);

        var img = vol.Image.Span;
        var lab = vol.Labels.Span;
        var region = vol.LabelledRegion is null ? default : vol.LabelledRegion.Span;
        bool hasRegion = vol.LabelledRegion is not null;
        bool planar = thinAsSections && s.Z < patch.Z;
        int o = 0;
        for (int z = 0; z < patch.Z; z++)
        {
            int sz = planar ? cz : z0 + z;
            for (int y = 0; y < patch.Y; y++)
            {
                int sy = y0 + y;
                bool rowInside = (uint)sz < (uint)s.Z && (uint)sy < (uint)s.Y;
                for (int x = 0; x < patch.X; x++, o++)
                {
                    int sx = x0 + x;
                    if (rowInside && (uint)sx < (uint)s.X)
                    {
                        int si = (int)s.Index(sz, sy, sx);
                        image[o] = img[si];
                        label[o] = lab[si];
                        weight[o] = hasRegion ? region[si] : 1f;
                    }
                    else
                    {
                        image[o] = 0f;
                        label[o] = 0f;
                        weight[o] = 0f;
                    }
                }
            }
        }
        return (vi, new Shape3(cz, cy, cx));
    }

    private static int PickKind(TrainingRandom rng, double[] w)
    {
        double r = rng.NextDouble() * w.Sum();
        int last = 0;
        for (int k = 0; k < w.Length; k++)
        {
            if (w[k] <= 0) continue;
            if (r < w[k]) return k;
            r -= w[k];
            last = k;
        }
        return last; // rounding
    }

    // Patch start so the centre is inside; clamped to the volume when the volume is big enough,
    // centred (negative start, padded) when it is smaller than the patch.
    private static int Start(int c, int p, int n) =>
        n >= p ? Math.Clamp(c - p / 2, 0, n - p) : (n - p) / 2;

    private static int[][] Candidates(TrainingVolume v)
    {
        var s = v.Image.Shape;
        var lab = v.Labels.Span;
        var region = v.LabelledRegion is null ? default : v.LabelledRegion.Span;
        bool hasRegion = v.LabelledRegion is not null;
        var near = NearTissue(lab, s);
        var focus = v.Focus is null ? default : v.Focus.Span;
        bool hasFocus = v.Focus is not null;
        var lists = new[] { new List<int>(), new List<int>(), new List<int>(), new List<int>(), new List<int>() };
        int stride = Math.Max(1, (int)(s.Length / MaxCandidates));
        for (int z = 0; z < s.Z; z++)
            for (int y = 0; y < s.Y; y++)
                for (int x = 0; x < s.X; x++)
                {
                    int i = (int)s.Index(z, y, x);
                    if (hasRegion && region[i] == 0) continue;
                    byte l = lab[i];
                    bool boundary =
                        (x > 0 && lab[i - 1] != l) || (x < s.X - 1 && lab[i + 1] != l) ||
                        (y > 0 && lab[i - s.X] != l) || (y < s.Y - 1 && lab[i + s.X] != l) ||
                        (z > 0 && lab[i - s.X * s.Y] != l) || (z < s.Z - 1 && lab[i + s.X * s.Y] != l);
                    if (boundary) lists[2].Add(i); // boundaries are rare: keep all
                    else if (i % stride == 0) lists[l == 1 ? 0 : near[i] != 0 ? 3 : 1].Add(i);
                    if (hasFocus && focus[i] != 0 && i % stride == 0) lists[4].Add(i);
                }
        return lists.Select(l => l.ToArray()).ToArray();
    }

    // Separable box dilation of the tissue labels (running count per line), radius NearRadius.
    private static byte[] NearTissue(ReadOnlySpan<byte> labels, Shape3 s)
    {
        var a = labels.ToArray();
        var b = new byte[a.Length];
        DilateAxis(a, b, s.X, 1, s.Z * s.Y, i => i * s.X);
        DilateAxis(b, a, s.Y, s.X, s.Z * s.X, i => i / s.X * s.X * s.Y + i % s.X);
        DilateAxis(a, b, s.Z, s.X * s.Y, s.Y * s.X, i => i);
        return b;
    }

    private static void DilateAxis(byte[] src, byte[] dst, int n, int step, int lines, Func<int, int> lineStart)
    {
        for (int l = 0; l < lines; l++)
        {
            int start = lineStart(l);
            int count = 0; // tissue voxels in the window [i - r, i + r]
            for (int i = 0; i < Math.Min(NearRadius, n); i++) count += src[start + i * step];
            for (int i = 0; i < n; i++)
            {
                int add = i + NearRadius, remove = i - NearRadius - 1;
                if (add < n) count += src[start + add * step];
                if (remove >= 0) count -= src[start + remove * step];
                dst[start + i * step] = (byte)(count > 0 ? 1 : 0);
            }
        }
    }
}
