using EmMask.Core.Volumes;

namespace EmMask.Core.Phantom;

/// <summary>
/// One trachea: a hollow tube along a gently curving polyline, with a dark cuticle wall whose taenidia (periodic
/// ridges) protrude into the resin-like lumen. Lumen and wall are both non-brain.
/// </summary>
internal sealed class Trachea
{
    private readonly double[] _px, _py, _pz, _arc; // polyline points and arc length at each
    private readonly double _outer;

    private Trachea(List<(double Z, double Y, double X)> points, double outerRadius, double wall, double ringPeriod, double ridgeDepth, double phase)
    {
        int n = points.Count;
        _pz = new double[n];
        _py = new double[n];
        _px = new double[n];
        _arc = new double[n];
        for (int i = 0; i < n; i++)
        {
            (_pz[i], _py[i], _px[i]) = points[i];
            if (i > 0)
            {
                double dz = _pz[i] - _pz[i - 1], dy = _py[i] - _py[i - 1], dx = _px[i] - _px[i - 1];
                _arc[i] = _arc[i - 1] + Math.Sqrt((dz * dz) + (dy * dy) + (dx * dx));
            }
        }

        _outer = outerRadius;
        Lumen = outerRadius - wall;
        RingPeriod = ringPeriod;
        RidgeDepth = ridgeDepth;
        Phase = phase;
    }

    /// <summary>Outer wall radius in voxels.</summary>
    public double OuterRadius => _outer;

    /// <summary>Lumen radius between taenidia, in voxels.</summary>
    public double Lumen { get; }

    /// <summary>Axial distance between taenidia, in voxels.</summary>
    public double RingPeriod { get; }

    /// <summary>How far a taenidium protrudes into the lumen, in voxels.</summary>
    public double RidgeDepth { get; }

    private double Phase { get; }

    /// <summary>Number of polyline segments.</summary>
    public int Segments => _px.Length - 1;

    /// <summary>
    /// Builds a tube through <paramref name="anchor"/> in a random direction, curving gently, extended both ways
    /// until it leaves the volume.
    /// </summary>
    public static Trachea Create(ref PhantomRandom rng, Shape3 shape, (double Z, double Y, double X) anchor, double outerRadius)
    {
        double wall = Math.Clamp(outerRadius * rng.Uniform(0.22, 0.35), 1.2, 4);
        double period = rng.Uniform(2.6, 4.2);
        double ridge = Math.Min(outerRadius - wall - 0.5, wall * rng.Uniform(0.4, 0.8));
        var dir = RandomDirection(ref rng, shape);
        double step = Math.Max(2, outerRadius * 0.8);
        double curvature = rng.Uniform(0.02, 0.12);
        var forward = Walk(ref rng, shape, anchor, dir, step, curvature, outerRadius);
        var backward = Walk(ref rng, shape, anchor, (-dir.Z, -dir.Y, -dir.X), step, curvature, outerRadius);
        backward.Reverse();
        backward.AddRange(forward.Skip(1));
        return new Trachea(backward, outerRadius, wall, period, Math.Max(ridge, 0), rng.NextDouble());
    }

    private static (double Z, double Y, double X) RandomDirection(ref PhantomRandom rng, Shape3 shape)
    {
        while (true)
        {
            double z = rng.NextGaussian(), y = rng.NextGaussian(), x = rng.NextGaussian();
            if (shape.Z == 1)
            {
                z *= 0.35; // a 2D slice shows tubes mostly cut lengthwise or obliquely, as in a real section
            }

            double n = Math.Sqrt((z * z) + (y * y) + (x * x));
            if (n > 1e-3)
            {
                return (z / n, y / n, x / n);
            }
        }
    }

    private static List<(double Z, double Y, double X)> Walk(
        ref PhantomRandom rng, Shape3 shape, (double Z, double Y, double X) p, (double Z, double Y, double X) d, double step, double curvature, double margin)
    {
        var points = new List<(double, double, double)> { p };
        int maxSteps = (int)(((shape.Z + shape.Y + shape.X) * 1.5 / step) + 4);
        for (int i = 0; i < maxSteps; i++)
        {
            // Random perpendicular nudge keeps the path smooth: the direction changes a little per step.
            double nz = d.Z + (curvature * rng.NextGaussian()), ny = d.Y + (curvature * rng.NextGaussian()), nx = d.X + (curvature * rng.NextGaussian());
            double n = Math.Sqrt((nz * nz) + (ny * ny) + (nx * nx));
            d = (nz / n, ny / n, nx / n);
            p = (p.Z + (d.Z * step), p.Y + (d.Y * step), p.X + (d.X * step));
            points.Add(p);
            if (p.Z < -margin - step || p.Z > shape.Z + margin + step || p.Y < -margin - step || p.Y > shape.Y + margin + step
                || p.X < -margin - step || p.X > shape.X + margin + step)
            {
                break;
            }
        }

        return points;
    }

    /// <summary>Inclusive voxel z range the tube can touch.</summary>
    public bool TouchesSlice(int z)
    {
        for (int s = 0; s < Segments; s++)
        {
            if (SegmentTouches(_pz[s], _pz[s + 1], z))
            {
                return true;
            }
        }

        return false;
    }

    private bool SegmentTouches(double a, double b, double v) => v >= Math.Min(a, b) - _outer - 1 && v <= Math.Max(a, b) + _outer + 1;

    /// <summary>
    /// Classifies row (z, y): writes 1 for lumen and 2..255 for wall (higher = on a taenidium ridge) into
    /// <paramref name="code"/> where the tube is, keeping the wall where tubes overlap. Uses <paramref name="bestD2"/> and
    /// <paramref name="bestArc"/> (length X) as scratch.
    /// </summary>
    public void RasterizeRow(int z, int y, Span<byte> code, Span<double> bestD2, Span<double> bestArc)
    {
        int width = code.Length;
        bool any = false;
        double reach = _outer + 1;
        for (int s = 0; s < Segments; s++)
        {
            if (!SegmentTouches(_pz[s], _pz[s + 1], z) || !SegmentTouches(_py[s], _py[s + 1], y))
            {
                continue;
            }

            if (!any)
            {
                bestD2.Fill(double.MaxValue);
                any = true;
            }

            double az = _pz[s], ay = _py[s], ax = _px[s];
            double dz = _pz[s + 1] - az, dy = _py[s + 1] - ay, dx = _px[s + 1] - ax;
            double len2 = (dz * dz) + (dy * dy) + (dx * dx);
            double segLen = Math.Sqrt(len2);
            int x0 = Math.Max(0, (int)Math.Floor(Math.Min(ax, ax + dx) - reach));
            int x1 = Math.Min(width - 1, (int)Math.Ceiling(Math.Max(ax, ax + dx) + reach));
            double rz = z - az, ry = y - ay;
            for (int x = x0; x <= x1; x++)
            {
                double rx = x - ax;
                double u = len2 > 0 ? ((rz * dz) + (ry * dy) + (rx * dx)) / len2 : 0;
                u = u < 0 ? 0 : u > 1 ? 1 : u;
                double ez = rz - (u * dz), ey = ry - (u * dy), ex = rx - (u * dx);
                double d2 = (ez * ez) + (ey * ey) + (ex * ex);
                if (d2 < bestD2[x])
                {
                    bestD2[x] = d2;
                    bestArc[x] = _arc[s] + (u * segLen);
                }
            }
        }

        if (!any)
        {
            return;
        }

        double outer2 = _outer * _outer;
        for (int x = 0; x < width; x++)
        {
            if (bestD2[x] >= outer2)
            {
                continue;
            }

            double d = Math.Sqrt(bestD2[x]);
            float ridge = PhantomMath.Ridge((float)((bestArc[x] / RingPeriod) + Phase), 0.45f);
            double inner = Lumen - (RidgeDepth * ridge);
            if (d < inner)
            {
                if (code[x] == 0)
                {
                    code[x] = 1;
                }
            }
            else
            {
                byte wall = (byte)(2 + (int)(ridge * 253));
                code[x] = Math.Max(code[x], wall);
            }
        }
    }
}
