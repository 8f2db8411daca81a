using EmMask.Core.Volumes;

namespace EmMask.Core.Phantom;

/// <summary>
/// The tissue body as a smooth field: the union (max) of a few random rotated ellipsoids, each scored roughly as
/// signed depth in voxels, plus low-frequency noise for a blobby surface. Thresholding the field gives the
/// envelope; the field minus the threshold is the depth below the surface (used for the sheath and the cortex).
/// </summary>
internal sealed class TissueEnvelope
{
    private readonly Ellipsoid[] _ellipsoids;
    private readonly LatticeNoise _coarse;
    private readonly LatticeNoise _fine;
    private readonly float _coarseAmplitude;
    private readonly float _fineAmplitude;

    public TissueEnvelope(ref PhantomRandom rng, Shape3 shape)
    {
        double size = (shape.Y + shape.X) / 2.0;
        int count = rng.NextInt(2, 6);
        _ellipsoids = new Ellipsoid[count];
        // Lobes cluster around one main centre, so the tissue is mostly one body (occasionally with a detached lobe).
        var main = (Z: rng.Uniform(0, shape.Z), Y: rng.Uniform(0.15, 0.85) * shape.Y, X: rng.Uniform(0.15, 0.85) * shape.X);
        for (int i = 0; i < count; i++)
        {
            double spread = i == 0 ? 0 : 0.22 * size;
            var centre = (
                Math.Clamp(main.Z + (rng.NextGaussian() * spread), 0, shape.Z - 1),
                Math.Clamp(main.Y + (rng.NextGaussian() * spread), 0, shape.Y - 1),
                Math.Clamp(main.X + (rng.NextGaussian() * spread), 0, shape.X - 1));
            var axes = (rng.Uniform(0.15, 0.5) * size, rng.Uniform(0.15, 0.5) * size, rng.Uniform(0.15, 0.5) * size);
            _ellipsoids[i] = Ellipsoid.Random(ref rng, centre, axes);
        }

        Anchors = [.. _ellipsoids.Select(e => (e.Cz, e.Cy, e.Cx))];
        double coarseCell = Math.Max(2, size / 4);
        double fineCell = Math.Max(2, size / 14);
        _coarse = new LatticeNoise(shape, coarseCell, coarseCell, coarseCell, rng.NextUInt64());
        _fine = new LatticeNoise(shape, fineCell, fineCell, fineCell, rng.NextUInt64());
        _coarseAmplitude = (float)(rng.Uniform(0.05, 0.12) * size);
        _fineAmplitude = (float)(rng.Uniform(0.01, 0.03) * size);
        ScratchLength = Math.Max(_coarse.ScratchLength, _fine.ScratchLength);
    }

    /// <summary>Ellipsoid centres: points very likely inside the tissue, used to route a trachea through it.</summary>
    public IReadOnlyList<(double Z, double Y, double X)> Anchors { get; }

    /// <summary>Scratch length <see cref="FieldRow"/> needs.</summary>
    public int ScratchLength { get; }

    /// <summary>Writes the field of row (z, y) into <paramref name="field"/> (length X).</summary>
    public void FieldRow(int z, int y, Span<float> field, Span<float> scratch)
    {
        field.Fill(float.MinValue);
        foreach (var e in _ellipsoids)
        {
            e.MaxRow(z, y, field);
        }

        _coarse.AddRow(z, y, _coarseAmplitude, field, scratch);
        _fine.AddRow(z, y, _fineAmplitude, field, scratch);
    }

    private readonly record struct Ellipsoid(double Cz, double Cy, double Cx, double[] Q, double Radius)
    {
        /// <summary>Random orientation from a normalised random quaternion: uniform rotations without trigonometry.</summary>
        public static Ellipsoid Random(ref PhantomRandom rng, (double Z, double Y, double X) c, (double A, double B, double C) axes)
        {
            double w, a, b, d, n;
            do
            {
                (w, a, b, d) = (rng.NextGaussian(), rng.NextGaussian(), rng.NextGaussian(), rng.NextGaussian());
                n = Math.Sqrt((w * w) + (a * a) + (b * b) + (d * d));
            }
            while (n < 1e-3);
            (w, a, b, d) = (w / n, a / n, b / n, d / n);
            double[,] r =
            {
                { 1 - (2 * ((b * b) + (d * d))), 2 * ((a * b) - (d * w)), 2 * ((a * d) + (b * w)) },
                { 2 * ((a * b) + (d * w)), 1 - (2 * ((a * a) + (d * d))), 2 * ((b * d) - (a * w)) },
                { 2 * ((a * d) - (b * w)), 2 * ((b * d) + (a * w)), 1 - (2 * ((a * a) + (b * b))) },
            };
            double[] inv = [1 / (axes.A * axes.A), 1 / (axes.B * axes.B), 1 / (axes.C * axes.C)];

            // Quadratic form Q = Rᵀ diag(1/axes²) R, stored row-major (z, y, x).
            var q = new double[9];
            for (int i = 0; i < 3; i++)
            {
                for (int j = 0; j < 3; j++)
                {
                    double s = 0;
                    for (int k = 0; k < 3; k++)
                    {
                        s += r[k, i] * inv[k] * r[k, j];
                    }

                    q[(i * 3) + j] = s;
                }
            }

            return new Ellipsoid(c.Z, c.Y, c.X, q, (axes.A + axes.B + axes.C) / 3);
        }

        /// <summary>field[x] = max(field[x], (1 − ρ)·radius) where ρ is the ellipsoidal radius, quadratic along x.</summary>
        public void MaxRow(int z, int y, Span<float> field)
        {
            double ez = z - Cz, ey = y - Cy;
            float a = (float)Q[8];
            float b = (float)(2 * ((Q[2] * ez) + (Q[5] * ey)));
            float c = (float)((Q[0] * ez * ez) + (2 * Q[1] * ez * ey) + (Q[4] * ey * ey));
            float cx = (float)Cx, radius = (float)Radius;
            for (int x = 0; x < field.Length; x++)
            {
                float ex = x - cx;
                float rho2 = (((a * ex) + b) * ex) + c;
                float v = (1 - MathF.Sqrt(rho2 > 0 ? rho2 : 0)) * radius;
                field[x] = v > field[x] ? v : field[x];
            }
        }
    }
}
