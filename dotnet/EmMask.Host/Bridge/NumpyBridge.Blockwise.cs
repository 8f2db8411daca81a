using System.Collections.Concurrent;
using System.Text.Json;
using EmMask.Core.Blockwise;
using EmMask.Core.Masking;
using EmMask.Core.Volumes;

namespace EmMask.Host.Bridge;

/// <summary>
/// The block-wise classical masker in pieces, for a distributed run driven from Python (Dask): the plan is measured
/// once on the sample, every worker masks its blocks under it (<see cref="ClassicalMasker.RunBlock"/>, the same code the
/// CLI runs), and the global steps merge the blocks' components (<see cref="BlockComponents"/>). Nothing here decides
/// anything the CLI does not: these are the CLI's steps, callable one block at a time.
/// </summary>
public static partial class NumpyBridge
{
    private static readonly ConcurrentDictionary<long, (BlockGrid Grid, BlockComponents.Builder Builder)> ComponentSessions = new();
    private static readonly ConcurrentDictionary<long, BlockComponents> BuiltComponents = new();
    private static long nextSession;

    /// <summary>
    /// The regions of a volume of <paramref name="shape"/> its plan is measured on (<see cref="ClassicalMasker.SampleBoxes"/>:
    /// whole sections in 2D mode), stacked along z: JSON <c>[[oz, oy, ox, sz, sy, sx], ...]</c>.
    /// </summary>
    public static BridgeResult ClassicalSampleBoxes(long[] shape, string optionsJson) =>
        BridgeResult.Guard(() =>
        {
            var (options, voxelSize) = ParseClassicalOptions(optionsJson);
            options.Validate();
            var boxes = ClassicalMasker.SampleBoxes(Shape3.FromDimensions(shape), voxelSize, options);
            return BridgeResult.Success(json: JsonSerializer.Serialize(boxes.Select(b => new[] { b.Offset.Z, b.Offset.Y, b.Offset.X, b.Size.Z, b.Size.Y, b.Size.X })));
        });

    /// <summary>
    /// Measures the plan on the stacked sample (<see cref="ClassicalSampleBoxes"/>) of a volume of
    /// <paramref name="volumeShape"/>; <see cref="BridgeResult.Json"/> is <c>{"plan": "...", "halo": H, "alignment": A,
    /// "level": L or null, "mode": "2d"|"3d"}</c> with the single-scale halo (each worker sees only its block).
    /// </summary>
    public static BridgeResult ClassicalPlan(long address, long[] shape, long[] strides, string dtype, long[] volumeShape, string optionsJson, BridgeJob job) =>
        BridgeResult.Guard(() =>
        {
            ArgumentNullException.ThrowIfNull(job);
            var (options, voxelSize) = ParseClassicalOptions(optionsJson);
            options.Validate();
            var sample = new NumpyArray(address, shape, strides, dtype).ToVolume(voxelSize, job);
            var plan = ClassicalMasker.Plan(sample, Shape3.FromDimensions(volumeShape), voxelSize, options, job.Token);
            return BridgeResult.Success(json: JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["plan"] = plan.ToJson(),
                ["halo"] = ClassicalMasker.Halo(plan, options, singleScale: true),
                ["alignment"] = ClassicalMasker.Alignment(plan, options),
                ["level"] = plan.Level,
                ["mode"] = MaskingModes.Name(plan.Mode),
            }));
        });

    /// <summary>
    /// Masks one block read with its halo under <paramref name="planJson"/> and writes the core's pre-mask (1 tissue,
    /// 0 non-brain, 2 padding in 3D; final 0/1 in 2D) into <paramref name="outAddress"/> (uint8, C order, the core's shape).
    /// </summary>
    public static BridgeResult ClassicalBlock(
        long address, long[] shape, long[] strides, string dtype, string planJson, string optionsJson,
        long[] readOffset, long[] volumeShape, long[] coreOffset, long[] coreSize, long outAddress, BridgeJob job) =>
        BridgeResult.Guard(() =>
        {
            ArgumentNullException.ThrowIfNull(job);
            var (options, voxelSize) = ParseClassicalOptions(optionsJson);
            var plan = Core.Masking.ClassicalPlan.FromJson(planJson);
            var block = new NumpyArray(address, shape, strides, dtype).ToVolume(voxelSize, job);
            var placement = new BlockPlacement(Triple(readOffset), Shape3.FromDimensions(volumeShape), Triple(coreOffset), Shape3.FromDimensions(coreSize));
            var result = ClassicalMasker.RunBlock(block, plan, placement, options, job.Token);
            var region = new BlockRegion((0, 0, 0), Add(placement.Origin, placement.Core), placement.CoreSize, placement.Origin, block.Shape);
            NumpyArray.CopyToOutput(region.CropCore(result.Mask), outAddress, "out");
            return BridgeResult.Success(result.Threshold, JsonSerializer.Serialize(new { warnings = result.Warnings }));
        });

    /// <summary>
    /// Starts merging the components of a block grid (<paramref name="blockSize"/> cores over <paramref name="volumeShape"/>):
    /// hole filling then small-region removal, or (<paramref name="keepLargest"/> ≥ 1) keeping the largest components;
    /// returns the session.
    /// </summary>
    public static long ComponentsBegin(long[] volumeShape, long[] blockSize, long minimumRegionSize, int keepLargest)
    {
        var grid = new BlockGrid(Shape3.FromDimensions(volumeShape), Shape3.FromDimensions(blockSize), 0);
        long id = Interlocked.Increment(ref nextSession);
        ComponentSessions[id] = (grid, new BlockComponents.Builder(grid, minimumRegionSize, keepLargest >= 1 ? keepLargest : null));
        return id;
    }

    /// <summary>
    /// Starts merging the components of the classical masker's global steps over a block grid: hole filling as
    /// <see cref="ClassicalBlockwise.HolesOf"/> says for this volume and plan (a volume of one section: the section's
    /// holes, resin holes left open), then small-region removal; returns the session.
    /// </summary>
    public static long ClassicalComponentsBegin(long[] volumeShape, long[] blockSize, long minimumRegionSize, string planJson)
    {
        var grid = new BlockGrid(Shape3.FromDimensions(volumeShape), Shape3.FromDimensions(blockSize), 0);
        var holes = ClassicalBlockwise.HolesOf(grid.Shape, Core.Masking.ClassicalPlan.FromJson(planJson));
        long id = Interlocked.Increment(ref nextSession);
        ComponentSessions[id] = (grid, new BlockComponents.Builder(grid, minimumRegionSize, holes: holes));
        return id;
    }

    /// <summary>
    /// A post-processing spec or preset as block-wise stages (<see cref="BlockPostProcessing.Stages"/>): JSON
    /// <c>[{"slices": "open2d:2,fill2d"}, {"fill3d": true}, {"largest": 1}, ...]</c>; a step that cannot run block-wise is
    /// an error naming it.
    /// </summary>
    public static BridgeResult BlockPostProcessStagesJson(string ops, long[] shape, double voxelSizeZ, double voxelSizeY, double voxelSizeX) =>
        BridgeResult.Guard(() =>
        {
            var stages = BlockPostProcessing.Stages(ResolvePipeline(ops), Shape3.FromDimensions(shape), new VoxelSize(voxelSizeZ, voxelSizeY, voxelSizeX).Validate());
            var json = stages.Select(st => st.Slices is { } slices
                ? new Dictionary<string, object> { ["slices"] = slices.ToSpec() }
                : st.KeepLargest is { } n ? new Dictionary<string, object> { ["largest"] = n } : new Dictionary<string, object> { ["fill3d"] = true });
            return BridgeResult.Success(json: JsonSerializer.Serialize(json));
        });

    /// <summary>
    /// Hands one block's pre-mask to a session: pass 1 (holes) for every block in scan order, then pass 2 (regions) for
    /// every block again. After the last block of pass 2 the session's tables are ready (<see cref="ComponentsTablesJson"/>).
    /// </summary>
    public static BridgeResult ComponentsAdd(long session, int pass, long[] index, long address, long[] shape, long[] strides, string dtype, BridgeJob job) =>
        BridgeResult.Guard(() =>
        {
            ArgumentNullException.ThrowIfNull(job);
            if (!ComponentSessions.TryGetValue(session, out var s))
            {
                throw new ArgumentException($"No components session {session} (it ended, or never began).", nameof(session));
            }

            var block = s.Grid[(int)index[0], (int)index[1], (int)index[2]];
            var pre = new NumpyArray(address, shape, strides, dtype).ToVolume<byte>(new VoxelSize(1, 1, 1), job);
            if (pre.Shape != block.CoreSize)
            {
                throw new ArgumentException($"Block {block.Name} should be {block.CoreSize}, got {pre.Shape}.", nameof(shape));
            }

            switch (pass)
            {
                case 1:
                    s.Builder.AddHoles(block, pre, job.Token);
                    break;
                case 2:
                    s.Builder.AddRegions(block, pre, job.Token);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(pass), pass, "Pass is 1 (holes) or 2 (regions).");
            }

            return BridgeResult.Success();
        });

    /// <summary>A block's tables as JSON <c>{"holes": "0110…", "keep": "1…"}</c> (one character per local label).</summary>
    public static string ComponentsTablesJson(long session, long[] index)
    {
        if (!ComponentSessions.TryGetValue(session, out var s))
        {
            throw new ArgumentException($"No components session {session}.", nameof(session));
        }

        var built = BuiltComponents.GetOrAdd(session, _ => s.Builder.Build());
        var (holes, keep) = built.Tables(s.Grid[(int)index[0], (int)index[1], (int)index[2]]);
        return JsonSerializer.Serialize(new { holes = Bits(holes), keep = Bits(keep) });
    }

    /// <summary>Ends a session and frees its union-find.</summary>
    public static void ComponentsEnd(long session)
    {
        ComponentSessions.TryRemove(session, out _);
        BuiltComponents.TryRemove(session, out _);
    }

    /// <summary>A block's final mask (0/1) from its pre-mask and its tables, into <paramref name="outAddress"/> (uint8, same shape); runs anywhere (a worker).</summary>
    public static BridgeResult ComponentsFinal(long address, long[] shape, long[] strides, string dtype, string holes, string keep, long outAddress, BridgeJob job) =>
        BridgeResult.Guard(() =>
        {
            ArgumentNullException.ThrowIfNull(job);
            var pre = new NumpyArray(address, shape, strides, dtype).ToVolume<byte>(new VoxelSize(1, 1, 1), job);
            var final = BlockComponents.FinalFromTables(pre, FromBits(holes), FromBits(keep), job.Token);
            NumpyArray.CopyToOutput(final, outAddress, "out");
            return BridgeResult.Success();
        });

    private static string Bits(bool[] values) => string.Create(values.Length, values, (span, v) =>
    {
        for (int i = 0; i < v.Length; i++)
        {
            span[i] = v[i] ? '1' : '0';
        }
    });

    private static bool[] FromBits(string text) => (text ?? string.Empty).Select(c => c == '1').ToArray();

    private static (int Z, int Y, int X) Triple(long[] v) => v is { Length: 3 }
        ? ((int)v[0], (int)v[1], (int)v[2])
        : throw new ArgumentException("Expected three values (z, y, x).");

    private static (int Z, int Y, int X) Add((int Z, int Y, int X) a, (int Z, int Y, int X) b) => (a.Z + b.Z, a.Y + b.Y, a.X + b.X);
}
