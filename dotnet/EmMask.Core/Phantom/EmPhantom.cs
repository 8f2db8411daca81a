using EmMask.Core.Volumes;

namespace EmMask.Core.Phantom;

/// <summary>
/// Deterministic synthetic FIB-SEM volumes of Drosophila larval CNS tissue with exact ground truth, for tests, demos,
/// benchmarks and U-Net training. Resin and tissue have close mean intensities, so only texture separates them.
/// </summary>
public static class EmPhantom
{
    private const int HistogramBins = 1 << 16;
    private const float ReferenceVoxelNm = 16;

    /// <summary>
    /// Generates a phantom. The same options give byte-identical output on any machine and thread count.
    /// </summary>
    /// <param name="options">Seed, shape, contrast, tissue fraction, artefacts and voxel size; validated first.</param>
    /// <param name="ct">Cancels between slices.</param>
    /// <returns>Raw uint8 intensities and the 0/1 truth (1 = brain tissue) with the options' voxel size.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (see <see cref="PhantomOptions.Validate"/>).</exception>
    public static PhantomVolume Generate(PhantomOptions options, CancellationToken ct = default) =>
        Generate(options, ct, maxDegreeOfParallelism: -1, layers: null);

    /// <summary>
    /// Generates a phantom and its hidden layers (<see cref="PhantomLayers"/>: the tracheae and the tissue envelope),
    /// which training uses to draw extra patches in the non-brain structures the classical masker cannot see.
    /// </summary>
    /// <param name="options">As <see cref="Generate(PhantomOptions, CancellationToken)"/>.</param>
    /// <param name="ct">Cancels between slices.</param>
    /// <param name="maxDegreeOfParallelism">Thread limit (−1 = default); the output does not depend on it.</param>
    public static (PhantomVolume Volume, PhantomLayers Layers) GenerateWithLayers(PhantomOptions options, CancellationToken ct = default, int maxDegreeOfParallelism = -1)
    {
        var layers = new PhantomLayers();
        var volume = Generate(options, ct, maxDegreeOfParallelism, layers);
        return (volume, layers);
    }

    /// <summary>
    /// Generates with a thread limit (−1 = default), optionally returning the hidden layers for tests: per voxel
    /// the trachea code (0 none, 1 lumen, 2..255 wall) and the tissue envelope before the tracheae are cut out.
    /// </summary>
    internal static PhantomVolume Generate(PhantomOptions options, CancellationToken ct, int maxDegreeOfParallelism, PhantomLayers? layers)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var shape = options.Shape;
        var scene = new Scene(options);
        var po = new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = maxDegreeOfParallelism };

        var image = new float[shape.Length];  // envelope field, then intensities
        var tube = new byte[shape.Length];    // 0 none, 1 lumen, 2..255 wall
        var envelope = layers is null ? null : new byte[shape.Length];
        var truth = new Volume<byte>(shape, options.VoxelSize);
        var raw = new Volume<byte>(shape, options.VoxelSize);

        // Pass 1: envelope field and tracheae, per slice.
        var sliceMin = new float[shape.Z];
        var sliceMax = new float[shape.Z];
        Parallel.For(0, shape.Z, po, z => FieldSlice(scene, z, image, tube, out sliceMin[z], out sliceMax[z]));
        float lo = sliceMin.Min(), hi = Math.Max(sliceMax.Max(), lo + 1e-3f);
        float binsPerUnit = (HistogramBins - 1) / (hi - lo);

        // The tissue threshold is the field quantile that leaves the target number of tissue voxels outside tracheae.
        var histogram = FieldHistogram(shape, image, tube, lo, binsPerUnit, po);
        long target = (long)Math.Round(scene.TissueFraction * shape.Length);
        int thresholdBin = ThresholdBin(histogram, target);
        float threshold = lo + (thresholdBin / binsPerUnit);

        // Pass 2: truth and clean tissue intensities; per-slice sums in a fixed order keep the mean deterministic.
        var sliceSum = new double[shape.Z];
        var sliceCount = new long[shape.Z];
        Parallel.For(
            0,
            shape.Z,
            po,
            () => scene.Texture.CreateRowState(shape.X),
            (z, _, state) =>
            {
                ComposeSlice(scene, z, image, tube, envelope, truth.Memory.Span, lo, binsPerUnit, thresholdBin, threshold, state, out sliceSum[z], out sliceCount[z]);
                return state;
            },
            _ => { });

        double sum = 0;
        long count = 0;
        for (int z = 0; z < shape.Z; z++)
        {
            sum += sliceSum[z];
            count += sliceCount[z];
        }

        // Resin sits a little brighter than the tissue average, so intensity alone barely separates them.
        float resinLevel = (float)((count > 0 ? sum / count : 135) + scene.ResinOffset);

        // Pass 3: resin, then the artefacts that act before the optics (curtains, chatter, drift) and the blur.
        Parallel.For(
            0,
            shape.Z,
            po,
            () => new float[Math.Max(shape.SliceLength, scene.SliceScratch)],
            (z, _, scratch) =>
            {
                FinishSlice(scene, z, image, tube, truth.Memory.Span, resinLevel, scratch);
                return scratch;
            },
            _ => { });

        if (scene.Artefacts is not null && shape.Z > 1)
        {
            Parallel.For(0, shape.Y, po, () => new float[shape.Z * shape.X], (y, _, scratch) =>
            {
                PhantomBlur.BlurZ(image, shape.Z, shape.Y, shape.X, y, scratch);
                return scratch;
            }, _ => { });
        }

        // Pass 4: noise, quantisation and contrast.
        Parallel.For(0, shape.Z, po, z =>
        {
            long start = (long)z * shape.SliceLength;
            var slice = image.AsSpan((int)start, shape.SliceLength);
            scene.Artefacts?.AddNoise(start, slice);
            var dest = raw.Slice(z);
            for (int i = 0; i < slice.Length; i++)
            {
                float v = slice[i];
                byte b = v <= 0 ? (byte)0 : v >= 255 ? (byte)255 : (byte)(int)(v + 0.5f);
                dest[i] = options.Invert ? (byte)(255 - b) : b;
            }
        });

        if (layers is not null)
        {
            layers.Tube = tube;
            layers.Envelope = envelope!;
        }

        return new PhantomVolume(raw, truth);
    }

    private static void FieldSlice(Scene scene, int z, float[] image, byte[] tube, out float min, out float max)
    {
        var shape = scene.Shape;
        var scratch = new float[scene.Envelope.ScratchLength];
        var d2 = new double[shape.X];
        var arc = new double[shape.X];
        var tubes = scene.Tracheae.Where(t => t.TouchesSlice(z)).ToArray();
        min = float.MaxValue;
        max = float.MinValue;
        for (int y = 0; y < shape.Y; y++)
        {
            int start = (int)shape.Index(z, y, 0);
            var row = image.AsSpan(start, shape.X);
            scene.Envelope.FieldRow(z, y, row, scratch);
            foreach (var t in tubes)
            {
                t.RasterizeRow(z, y, tube.AsSpan(start, shape.X), d2, arc);
            }

            foreach (float v in row)
            {
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }
        }
    }

    private static long[] FieldHistogram(Shape3 shape, float[] image, byte[] tube, float lo, float binsPerUnit, ParallelOptions po)
    {
        var total = new long[HistogramBins];
        var gate = new object();

        // Integer counts add up to the same totals in any order, so per-thread histograms stay deterministic.
        Parallel.For(0, shape.Z, po, () => new long[HistogramBins], (z, _, local) =>
        {
            long start = (long)z * shape.SliceLength;
            var field = image.AsSpan((int)start, shape.SliceLength);
            var tubes = tube.AsSpan((int)start, shape.SliceLength);
            for (int i = 0; i < field.Length; i++)
            {
                if (tubes[i] == 0)
                {
                    local[Bin(field[i], lo, binsPerUnit)]++;
                }
            }

            return local;
        }, local =>
        {
            lock (gate)
            {
                for (int b = 0; b < HistogramBins; b++)
                {
                    total[b] += local[b];
                }
            }
        });
        return total;
    }

    private static int Bin(float v, float lo, float binsPerUnit)
    {
        int b = (int)((v - lo) * binsPerUnit);
        return b < 0 ? 0 : b >= HistogramBins ? HistogramBins - 1 : b;
    }

    /// <summary>The lowest bin such that counting it and every higher bin comes closest to <paramref name="target"/>.</summary>
    private static int ThresholdBin(long[] histogram, long target)
    {
        long above = 0;
        for (int b = HistogramBins - 1; b >= 0; b--)
        {
            long next = above + histogram[b];
            if (next >= target)
            {
                return next - target <= target - above ? b : b + 1;
            }

            above = next;
        }

        return 0; // fewer non-trachea voxels than the target: everything outside the tracheae is tissue
    }

    private static void ComposeSlice(
        Scene scene, int z, float[] image, byte[] tube, byte[]? envelope, Span<byte> truth, float lo, float binsPerUnit, int thresholdBin, float threshold,
        TissueTexture.RowState state, out double sum, out long count)
    {
        var shape = scene.Shape;
        sum = 0;
        count = 0;
        for (int y = 0; y < shape.Y; y++)
        {
            int start = (int)shape.Index(z, y, 0);
            var row = image.AsSpan(start, shape.X);
            var rowTube = tube.AsSpan(start, shape.X);
            var rowTruth = truth.Slice(start, shape.X);
            for (int x = 0; x < row.Length; x++)
            {
                bool inside = Bin(row[x], lo, binsPerUnit) >= thresholdBin;
                bool tissue = inside && rowTube[x] == 0;
                if (envelope is not null)
                {
                    envelope[start + x] = inside ? (byte)1 : (byte)0;
                }

                rowTruth[x] = tissue ? (byte)1 : (byte)0;
                row[x] = tissue ? row[x] - threshold : 0; // depth below the surface in voxels
            }

            scene.Texture.ComposeRow(z, y, start, row, rowTruth, rowTube, state);
            for (int x = 0; x < row.Length; x++)
            {
                if (rowTruth[x] != 0)
                {
                    sum += row[x];
                    count++;
                }
            }
        }
    }

    private static void FinishSlice(Scene scene, int z, float[] image, byte[] tube, Span<byte> truth, float resinLevel, float[] scratch)
    {
        var shape = scene.Shape;
        int start = (int)shape.Index(z, 0, 0);
        var slice = image.AsSpan(start, shape.SliceLength);
        var sliceTube = tube.AsSpan(start, shape.SliceLength);
        var sliceTruth = truth.Slice(start, shape.SliceLength);
        var shade = scratch.AsSpan(0, shape.X);
        var latticeScratch = scratch.AsSpan(shape.X);
        for (int y = 0; y < shape.Y; y++)
        {
            shade.Clear();
            scene.ResinShading.AddRow(z, y, scene.ResinShadingAmplitude, shade, latticeScratch);
            int o = y * shape.X;
            for (int x = 0; x < shape.X; x++)
            {
                if (sliceTruth[o + x] == 0 && sliceTube[o + x] < 2)
                {
                    // Resin (and tracheal lumen): flat, with faint low-frequency shading and very fine grain.
                    ulong h = PhantomRandom.Mix(scene.ResinGrainSeed + ((ulong)(start + o + x) * 0x9E3779B97F4A7C15UL));
                    slice[o + x] = resinLevel + shade[x] + (1.2f * PhantomRandom.Gaussian(h));
                }
            }
        }

        if (scene.Artefacts is { } artefacts)
        {
            artefacts.ApplyBeforeBlur(z, slice, sliceTruth, sliceTube, scratch);
            PhantomBlur.BlurSlice(slice, shape.Y, shape.X, scratch);
        }
    }

    /// <summary>Every random choice of one phantom, drawn up front from independent streams of the seed.</summary>
    private sealed class Scene
    {
        public Scene(PhantomOptions options)
        {
            Shape = options.Shape;
            var rng = PhantomRandom.Fork(options.Seed, 1);
            TissueFraction = options.TissueFraction ?? rng.Uniform(0.15, 0.8);
            ResinOffset = rng.Uniform(10, 17);
            ResinGrainSeed = rng.NextUInt64();
            double size = (Shape.Y + Shape.X) / 2.0;
            double shadingCell = Math.Max(2, size / 3);
            ResinShading = new LatticeNoise(Shape, shadingCell, shadingCell, shadingCell, rng.NextUInt64());
            ResinShadingAmplitude = (float)rng.Uniform(1.5, 3.5);

            var envelopeRng = PhantomRandom.Fork(options.Seed, 2);
            Envelope = new TissueEnvelope(ref envelopeRng, Shape);

            // One trachea always runs through the tissue; the others through random points, often in resin.
            var tubeRng = PhantomRandom.Fork(options.Seed, 3);
            int tubes = tubeRng.NextInt(1, 5);
            var list = new List<Trachea>();
            for (int i = 0; i < tubes; i++)
            {
                var anchor = i == 0 || tubeRng.Chance(0.3)
                    ? Envelope.Anchors[tubeRng.NextInt(0, Envelope.Anchors.Count)]
                    : (tubeRng.Uniform(0, Shape.Z), tubeRng.Uniform(0, Shape.Y), tubeRng.Uniform(0, Shape.X));
                double radius = Math.Clamp(tubeRng.Uniform(0.025, 0.06) * size, 2.5, 16);
                list.Add(Trachea.Create(ref tubeRng, Shape, anchor, radius));
            }

            Tracheae = list;

            var vs = options.VoxelSize;
            float Scale(double nm) => (float)Math.Clamp(nm / ReferenceVoxelNm, 0.25, 2);
            var textureRng = PhantomRandom.Fork(options.Seed, 4);
            Texture = new TissueTexture(ref textureRng, Shape, Scale(vs.Z), Scale(vs.Y), Scale(vs.X));

            if (options.Artefacts)
            {
                var artefactRng = PhantomRandom.Fork(options.Seed, 5);
                Artefacts = new PhantomArtefacts(ref artefactRng, Shape);
            }

            SliceScratch = Math.Max(Shape.X + ResinShading.ScratchLength, Artefacts?.ScratchLength ?? 0);
        }

        public Shape3 Shape { get; }

        public double TissueFraction { get; }

        public double ResinOffset { get; }

        public ulong ResinGrainSeed { get; }

        public LatticeNoise ResinShading { get; }

        public float ResinShadingAmplitude { get; }

        public TissueEnvelope Envelope { get; }

        public IReadOnlyList<Trachea> Tracheae { get; }

        public TissueTexture Texture { get; }

        public PhantomArtefacts? Artefacts { get; }

        public int SliceScratch { get; }
    }
}

/// <summary>Hidden layers of a phantom (C order, the phantom's shape), from <see cref="EmPhantom.GenerateWithLayers"/>.</summary>
public sealed class PhantomLayers
{
    internal PhantomLayers()
    {
    }

    /// <summary>Per voxel: 0 no trachea, 1 lumen, 2..255 wall.</summary>
    public byte[] Tube { get; internal set; } = [];

    /// <summary>Per voxel: 1 inside the tissue envelope before the tracheae are cut out.</summary>
    public byte[] Envelope { get; internal set; } = [];

    /// <summary>Per voxel: 1 where a trachea (lumen or wall) lies inside the tissue envelope, the non-brain inside tissue.</summary>
    public byte[] TracheaeInTissue()
    {
        var focus = new byte[Tube.Length];
        for (int i = 0; i < focus.Length; i++)
        {
            focus[i] = (byte)(Tube[i] != 0 && Envelope[i] != 0 ? 1 : 0);
        }

        return focus;
    }
}
