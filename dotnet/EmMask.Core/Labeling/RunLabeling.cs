using EmMask.Core.Volumes;

namespace EmMask.Core.Labeling;

/// <summary>
/// Connected components over x runs: each row is cut into maximal runs of foreground, runs are joined with a flat
/// union-find over overlapping runs of earlier neighbour rows, and every run gets its final label. Working on runs
/// instead of voxels keeps the union-find small for the large blobs that masks are made of, and lets the masking
/// operations (keep largest, fill holes, remove small regions) rewrite whole runs without a label volume.
/// </summary>
internal sealed class RunLabeling
{
    private RunLabeling(Shape3 shape, int[] rowStart, int[] begin, int[] end)
    {
        Shape = shape;
        RowStart = rowStart;
        Begin = begin;
        End = end;
        RunLabel = new int[begin.Length];
    }

    public Shape3 Shape { get; }

    /// <summary>Row r = z·Y + y owns runs [RowStart[r], RowStart[r + 1]).</summary>
    public int[] RowStart { get; }

    /// <summary>First x of each run.</summary>
    public int[] Begin { get; }

    /// <summary>One past the last x of each run.</summary>
    public int[] End { get; }

    /// <summary>Final label (1..Count) of each run.</summary>
    public int[] RunLabel { get; }

    /// <summary>Number of components.</summary>
    public int Count { get; private set; }

    public int RunCount => Begin.Length;

    /// <summary>Labels the runs of nonzero voxels, or of zero voxels when <paramref name="foregroundIsZero"/> (for hole filling).</summary>
    public static RunLabeling Compute(Memory<byte> data, Shape3 shape, Connectivity connectivity, bool foregroundIsZero, CancellationToken ct)
    {
        int rows = shape.Z * shape.Y;
        int width = shape.X;
        var rowStart = new int[rows + 1];
        var options = new ParallelOptions { CancellationToken = ct };

        // Count first so that runs land in exact-size arrays in scan order, whatever the thread count.
        Parallel.For(0, shape.Z, options, z =>
        {
            var span = data.Span;
            for (int y = 0; y < shape.Y; y++)
            {
                int r = (z * shape.Y) + y;
                rowStart[r + 1] = CountRuns(span.Slice(r * width, width), foregroundIsZero);
            }
        });

        for (int r = 0; r < rows; r++)
        {
            rowStart[r + 1] = checked(rowStart[r + 1] + rowStart[r]);
        }

        int total = rowStart[rows];
        var begin = new int[total];
        var end = new int[total];
        Parallel.For(0, shape.Z, options, z =>
        {
            var span = data.Span;
            for (int y = 0; y < shape.Y; y++)
            {
                int r = (z * shape.Y) + y;
                FillRuns(span.Slice(r * width, width), foregroundIsZero, rowStart[r], begin, end);
            }
        });

        var result = new RunLabeling(shape, rowStart, begin, end);
        result.Join(connectivity, ct);
        return result;
    }

    /// <summary>Voxel count per label (index 0 = everything else).</summary>
    public long[] Sizes(long backgroundVoxels)
    {
        var sizes = new long[Count + 1];
        long foreground = 0;
        for (int i = 0; i < RunCount; i++)
        {
            int length = End[i] - Begin[i];
            sizes[RunLabel[i]] += length;
            foreground += length;
        }

        sizes[0] = backgroundVoxels - foreground;
        return sizes;
    }

    /// <summary>Writes run labels into a zeroed label buffer of the same shape.</summary>
    public void WriteLabels(Memory<int> labels, CancellationToken ct)
    {
        Parallel.For(0, Shape.Z, new ParallelOptions { CancellationToken = ct }, z =>
        {
            var span = labels.Span;
            for (int r = z * Shape.Y; r < (z + 1) * Shape.Y; r++)
            {
                int offset = r * Shape.X;
                for (int i = RowStart[r]; i < RowStart[r + 1]; i++)
                {
                    span.Slice(offset + Begin[i], End[i] - Begin[i]).Fill(RunLabel[i]);
                }
            }
        });
    }

    /// <summary>Sets every run whose label is flagged in <paramref name="selected"/> to <paramref name="value"/>; returns voxels written.</summary>
    public long Paint(Memory<byte> data, bool[] selected, byte value, CancellationToken ct)
    {
        long written = 0;
        Parallel.For(0, Shape.Z, new ParallelOptions { CancellationToken = ct }, () => 0L, (z, _, local) =>
        {
            var span = data.Span;
            for (int r = z * Shape.Y; r < (z + 1) * Shape.Y; r++)
            {
                int offset = r * Shape.X;
                for (int i = RowStart[r]; i < RowStart[r + 1]; i++)
                {
                    if (selected[RunLabel[i]])
                    {
                        span.Slice(offset + Begin[i], End[i] - Begin[i]).Fill(value);
                        local += End[i] - Begin[i];
                    }
                }
            }

            return local;
        }, local => Interlocked.Add(ref written, local));
        return written;
    }

    private static int CountRuns(ReadOnlySpan<byte> row, bool foregroundIsZero)
    {
        int count = 0;
        int x = 0;
        while (x < row.Length)
        {
            int start = NextStart(row, x, foregroundIsZero);
            if (start < 0)
            {
                break;
            }

            count++;
            x = NextEnd(row, start, foregroundIsZero);
        }

        return count;
    }

    private static void FillRuns(ReadOnlySpan<byte> row, bool foregroundIsZero, int index, int[] begin, int[] end)
    {
        int x = 0;
        while (x < row.Length)
        {
            int start = NextStart(row, x, foregroundIsZero);
            if (start < 0)
            {
                break;
            }

            x = NextEnd(row, start, foregroundIsZero);
            begin[index] = start;
            end[index] = x;
            index++;
        }
    }

    // IndexOf / IndexOfAnyExcept are vectorised, so long runs cost a few instructions per 32 voxels.
    private static int NextStart(ReadOnlySpan<byte> row, int from, bool foregroundIsZero)
    {
        int i = foregroundIsZero ? row[from..].IndexOf((byte)0) : row[from..].IndexOfAnyExcept((byte)0);
        return i < 0 ? -1 : from + i;
    }

    private static int NextEnd(ReadOnlySpan<byte> row, int from, bool foregroundIsZero)
    {
        int i = foregroundIsZero ? row[from..].IndexOfAnyExcept((byte)0) : row[from..].IndexOf((byte)0);
        return i < 0 ? row.Length : from + i;
    }

    private void Join(Connectivity connectivity, CancellationToken ct)
    {
        int[] parent = new int[RunCount];
        for (int i = 0; i < parent.Length; i++)
        {
            parent[i] = i;
        }

        // Earlier neighbour rows as (dz, dy, x tolerance): tolerance 1 joins runs that touch diagonally in x.
        (int Dz, int Dy, int Tol)[] neighbours = connectivity switch
        {
            Connectivity.Face => [(0, -1, 0), (-1, 0, 0)],
            Connectivity.Edge => [(0, -1, 1), (-1, 0, 1), (-1, -1, 0), (-1, 1, 0)],
            _ => [(0, -1, 1), (-1, -1, 1), (-1, 0, 1), (-1, 1, 1)],
        };

        for (int z = 0; z < Shape.Z; z++)
        {
            ct.ThrowIfCancellationRequested();
            for (int y = 0; y < Shape.Y; y++)
            {
                int r = (z * Shape.Y) + y;
                if (RowStart[r] == RowStart[r + 1])
                {
                    continue;
                }

                foreach (var (dz, dy, tol) in neighbours)
                {
                    int nz = z + dz, ny = y + dy;
                    if (nz < 0 || ny < 0 || ny >= Shape.Y)
                    {
                        continue;
                    }

                    JoinRows(parent, r, (nz * Shape.Y) + ny, tol);
                }
            }
        }

        // A component's smallest run index holds its first voxel in scan order, and unions keep the smaller
        // root, so numbering roots in index order reproduces scipy's label order.
        int count = 0;
        for (int i = 0; i < parent.Length; i++)
        {
            int root = Find(parent, i);
            RunLabel[i] = root == i ? ++count : RunLabel[root];
        }

        Count = count;
    }

    private void JoinRows(int[] parent, int row, int neighbourRow, int tolerance)
    {
        int i = RowStart[row], iEnd = RowStart[row + 1];
        int j = RowStart[neighbourRow], jEnd = RowStart[neighbourRow + 1];
        while (i < iEnd && j < jEnd)
        {
            if (Begin[i] < End[j] + tolerance && Begin[j] < End[i] + tolerance)
            {
                Union(parent, i, j);
            }

            // Runs are separated by at least one voxel, so the run that ends first cannot touch later runs of the other row.
            if (End[i] < End[j])
            {
                i++;
            }
            else
            {
                j++;
            }
        }
    }

    private static int Find(int[] parent, int i)
    {
        while (parent[i] != i)
        {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }

        return i;
    }

    private static void Union(int[] parent, int a, int b)
    {
        a = Find(parent, a);
        b = Find(parent, b);
        if (a < b)
        {
            parent[b] = a;
        }
        else if (b < a)
        {
            parent[a] = b;
        }
    }
}
