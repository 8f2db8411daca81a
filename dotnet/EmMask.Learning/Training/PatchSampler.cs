using EmMask.Core.Volumes;

namespace EmMask.Learning.Training;

/// <summary>
/// Draws class-balanced training patches: the centre is a random voxel of a randomly chosen kind
/// (tissue, resin/non-brain, or label boundary) so thin structures and rare classes are seen
/// as often as bulk tissue. Out-of-volume voxels (small volumes) get image 0 and weight 0;
/// with a labelled-region mask only labelled voxels are centres and carry weight.
/// </summary>
internal sealed class PatchSampler
{
    private const int MaxCandidates = 1 << 21; // cap per list; a deterministic stride subsample keeps memory bounded

    private readonly IReadOnlyList<TrainingVolume> volumes;
    private readonly int[][][] candidates; // [volume][kind] flat indices
    private readonly double[] balance;

    public PatchSampler(IReadOnlyList<TrainingVolume> volumes, (double Tissue, double Resin, double Boundary) balance)
    {
        this.volumes = volumes;
        this.balance = [balance.Tissue, balance.Resin, balance.Boundary];
        candidates = volumes.Select(Candidates).ToArray();
        if (candidates.All(c => c.All(k => k.Length == 0)))
            throw new ArgumentException("No labelled voxels to sample patches from.", nameof(volumes));
    }

    /// <summary>Fills one patch (image, 0/1 label as float, weight) of shape <paramref name="patch"/>.</summary>
    public void Sample(TrainingRandom rng, Shape3 patch, Span<float> image, Span<float> label, Span<float> weight)
    {
        int vi, kind;
        int[] list;
        do
        {
            vi = rng.Next(volumes.Count);
            kind = PickKind(rng);
            list = candidates[vi][kind];
        } while (list.Length == 0);
        var vol = volumes[vi];
        var s = vol.Image.Shape;
        long centre = list[rng.Next(list.Length)];
        int cz = (int)(centre / ((long)s.Y * s.X)), cy = (int)(centre / s.X % s.Y), cx = (int)(centre % s.X);
        int z0 = Start(cz, patch.Z, s.Z), y0 = Start(cy, patch.Y, s.Y), x0 = Start(cx, patch.X, s.X);

        var img = vol.Image.Span;
        var lab = vol.Labels.Span;
        var region = vol.LabelledRegion is null ? default : vol.LabelledRegion.Span;
        bool hasRegion = vol.LabelledRegion is not null;
        int o = 0;
        for (int z = 0; z < patch.Z; z++)
        {
            int sz = z0 + z;
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
    }

    private int PickKind(TrainingRandom rng)
    {
        double r = rng.NextDouble() * (balance[0] + balance[1] + balance[2]);
        return r < balance[0] ? 0 : r < balance[0] + balance[1] ? 1 : 2;
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
        var lists = new[] { new List<int>(), new List<int>(), new List<int>() };
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
                    else if (i % stride == 0) lists[l == 1 ? 0 : 1].Add(i);
                }
        return lists.Select(l => l.ToArray()).ToArray();
    }
}
