using EmMask.Core.Volumes;

namespace EmMask.Core.Phantom;

/// <summary>
/// Clean (artefact-free) intensities inside the tissue and of the tracheal walls, in normal contrast (membranes dark):
/// neuropil (dense thin membranes of small neurites, dark mitochondria), a cortex of cell bodies (bigger cells with
/// large, lighter, textured nuclei) and the darker glial sheath along the surface.
/// </summary>
internal sealed class TissueTexture
{
    private readonly CellTessellation _neuropil;
    private readonly CellTessellation _cortex;
    private readonly LatticeNoise _cortexEdge;
    private readonly LatticeNoise _chromatin;
    private readonly ulong _grainSeed;

    // Geometry in reference units (16 nm) unless noted.
    private readonly float _neuropilMembrane, _cortexMembrane, _mitoShare, _mitoRadius, _nucleusRadius, _envelope;
    private readonly float _sheathDepth, _cortexDepth; // voxels

    // Grey levels.
    private readonly float _neuropilLevel, _cortexLevel, _nucleusLevel, _membraneLevel, _mitoLevel, _sheathLevel, _wallLevel, _envelopeLevel;

    public TissueTexture(ref PhantomRandom rng, Shape3 shape, float scaleZ, float scaleY, float scaleX)
    {
        float neuropilSpacing = (float)rng.Uniform(3.5, 6);
        float cortexSpacing = (float)rng.Uniform(10, 18);
        _neuropil = new CellTessellation(shape, scaleZ, scaleY, scaleX, neuropilSpacing, 1f, rng.NextUInt64());
        _cortex = new CellTessellation(shape, scaleZ, scaleY, scaleX, cortexSpacing, 0.55f, rng.NextUInt64());
        _cortexEdge = new LatticeNoise(shape, 24, 24, 24, rng.NextUInt64());
        float chromatinCell = Math.Max(1.5f, 2.2f / scaleX);
        _chromatin = new LatticeNoise(shape, Math.Max(1.5f, 2.2f / scaleZ), chromatinCell, chromatinCell, rng.NextUInt64());
        _grainSeed = rng.NextUInt64();

        _neuropilMembrane = (float)rng.Uniform(0.5, 0.8);
        _cortexMembrane = (float)rng.Uniform(0.55, 0.85);
        _mitoShare = (float)rng.Uniform(0.06, 0.16);
        _mitoRadius = neuropilSpacing * (float)rng.Uniform(0.25, 0.35);
        _nucleusRadius = cortexSpacing * (float)rng.Uniform(0.32, 0.42);
        _envelope = 1.1f;
        _sheathDepth = (float)rng.Uniform(1.5, 3.5);
        _cortexDepth = cortexSpacing / scaleX * (float)rng.Uniform(0.6, 2.8);

        _neuropilLevel = (float)rng.Uniform(145, 160);
        _cortexLevel = _neuropilLevel - (float)rng.Uniform(5, 20);
        _nucleusLevel = _cortexLevel + (float)rng.Uniform(25, 40);
        _membraneLevel = (float)rng.Uniform(60, 85);
        _mitoLevel = _membraneLevel + (float)rng.Uniform(5, 20);
        _sheathLevel = (float)rng.Uniform(105, 125);
        _wallLevel = (float)rng.Uniform(55, 75);
        _envelopeLevel = _membraneLevel + 20;
    }

    /// <summary>Scratch lengths for <see cref="RowState"/>.</summary>
    public RowState CreateRowState(int width) => new(width, _neuropil.RowCacheLength, _cortex.RowCacheLength, _cortexEdge.ScratchLength);

    /// <summary>
    /// Row (z, y): replaces <paramref name="row"/> (tissue depth in voxels on entry where <paramref name="truth"/> is 1)
    /// with clean intensities for tissue and tracheal wall voxels; resin and lumen voxels are left for later.
    /// </summary>
    public void ComposeRow(int z, int y, long rowStart, Span<float> row, ReadOnlySpan<byte> truth, ReadOnlySpan<byte> tube, RowState s)
    {
        s.Reset();
        Array.Clear(s.Edge);
        bool edgeReady = false;
        for (int x = 0; x < row.Length; x++)
        {
            byte t = tube[x];
            float grain = PhantomRandom.Gaussian(PhantomRandom.Mix(_grainSeed + ((ulong)(rowStart + x) * 0x9E3779B97F4A7C15UL)));
            if (t >= 2)
            {
                // Cuticle wall: dark, darker still on the taenidia.
                row[x] = _wallLevel - (t * (18f / 255f)) + (3 * grain);
                continue;
            }

            if (truth[x] == 0)
            {
                continue;
            }

            float depth = row[x];
            if (depth < _sheathDepth)
            {
                // Glial sheath: a thin, flat, darker layer; its inner edge is blurred a little.
                row[x] = PhantomMath.Lerp(_sheathLevel, _neuropilLevel, PhantomMath.SmoothStep((depth - _sheathDepth + 1) / 1.5f)) + (5 * grain);
                continue;
            }

            if (!edgeReady)
            {
                _cortexEdge.AddRow(z, y, 1, s.Edge, s.NoiseScratch);
                edgeReady = true;
            }

            row[x] = depth < _cortexDepth * (1 + (0.45f * s.Edge[x]))
                ? Cortex(z, y, x, grain, s)
                : Neuropil(z, y, x, grain, s);
        }
    }

    private float Neuropil(int z, int y, int x, float grain, RowState s)
    {
        if (!s.NeuropilReady)
        {
            _neuropil.PrepareRow(z, y, s.NeuropilD2, s.NeuropilX, s.NeuropilId);
            s.NeuropilReady = true;
        }

        var hit = _neuropil.Query(x, s.NeuropilD2, s.NeuropilX, s.NeuropilId);
        float shade = (PhantomRandom.Unit(hit.Id, 8) - 0.5f) * 18;
        float v = _neuropilLevel + shade + (7 * grain);
        float mitoR = _mitoRadius * (0.8f + (0.5f * PhantomRandom.Unit(hit.Id, 0)));
        if ((hit.Id >> 24) < _mitoShare * 256 && hit.Nearest < mitoR)
        {
            v = _mitoLevel + (6 * grain);
        }

        float m = PhantomMath.SmoothStep(1 - (hit.MembraneDistance / _neuropilMembrane));
        return PhantomMath.Lerp(v, _membraneLevel + (4 * grain), m);
    }

    private float Cortex(int z, int y, int x, float grain, RowState s)
    {
        if (!s.CortexReady)
        {
            _cortex.PrepareRow(z, y, s.CortexD2, s.CortexX, s.CortexId);
            s.CortexReady = true;
        }

        var hit = _cortex.Query(x, s.CortexD2, s.CortexX, s.CortexId);
        float nucleus = _nucleusRadius * (0.85f + (0.3f * PhantomRandom.Unit(hit.Id, 0)));
        float v;
        if (hit.Nearest < nucleus - _envelope)
        {
            // Nucleus: lighter, with clumped chromatin.
            float c = _chromatin.Sample(z, y, x);
            v = _nucleusLevel + (14 * c) + (6 * grain);
            if (c > 0.55f)
            {
                v -= 30 * (c - 0.55f) / 0.45f;
            }
        }
        else if (hit.Nearest < nucleus)
        {
            v = _envelopeLevel + (5 * grain);
        }
        else
        {
            float shade = (PhantomRandom.Unit(hit.Id, 8) - 0.5f) * 12;
            v = _cortexLevel + shade + (7 * grain);
        }

        float m = PhantomMath.SmoothStep(1 - (hit.MembraneDistance / _cortexMembrane));
        return PhantomMath.Lerp(v, _membraneLevel + (4 * grain), m);
    }

    /// <summary>Per-thread scratch for one row at a time.</summary>
    internal sealed class RowState(int width, int neuropilCache, int cortexCache, int noiseScratch)
    {
        public float[] NeuropilD2 { get; } = new float[neuropilCache];
        public float[] NeuropilX { get; } = new float[neuropilCache];
        public uint[] NeuropilId { get; } = new uint[neuropilCache];
        public float[] CortexD2 { get; } = new float[cortexCache];
        public float[] CortexX { get; } = new float[cortexCache];
        public uint[] CortexId { get; } = new uint[cortexCache];
        public float[] Edge { get; } = new float[width];
        public float[] NoiseScratch { get; } = new float[noiseScratch];
        public bool NeuropilReady { get; set; }
        public bool CortexReady { get; set; }

        public void Reset()
        {
            NeuropilReady = false;
            CortexReady = false;
        }
    }
}
