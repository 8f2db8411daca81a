using System.Globalization;
using EmMask.Core.Labeling;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.Core.PostProcessing;

/// <summary>An ordered list of in-place mask operations, written as a spec string such as <c>open2d:3,largest:1,fill3d,grow:15</c>.</summary>
public sealed class PostProcessPipeline
{
    private const string Grammar =
        "open2d:R, open3d:R, close2d:R, close3d:R, largest[:N[:6|18|26]], fill, fill2d, fill3d, grow:D, erode:D, minsize:N[:6|18|26]";

    /// <summary>Creates a pipeline that runs <paramref name="operations"/> in order.</summary>
    public PostProcessPipeline(IReadOnlyList<IMaskOperation> operations)
    {
        ArgumentNullException.ThrowIfNull(operations);
        if (operations.Any(o => o is null))
        {
            throw new ArgumentException("Operations must not contain null.", nameof(operations));
        }

        Operations = operations.ToArray();
    }

    /// <summary>The operations, in the order they run.</summary>
    public IReadOnlyList<IMaskOperation> Operations { get; }

    /// <summary>
    /// Runs every operation on <paramref name="mask"/> in place, reporting <c>("post-process: &lt;op spec&gt;", fraction)</c>
    /// before each step and fraction 1 at the end.
    /// </summary>
    public void Apply(Volume<byte> mask, IProgress<ProgressReport>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(mask);
        for (int i = 0; i < Operations.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            progress?.Report(new ProgressReport($"post-process: {Operations[i].ToSpec()}", (double)i / Operations.Count));
            Operations[i].Apply(mask, ct);
        }

        progress?.Report(new ProgressReport("post-process", 1));
    }

    /// <summary>
    /// Parses a pipeline spec: comma-separated steps run left to right (spaces around steps and case are ignored;
    /// <c>""</c> or <c>"none"</c> is the empty pipeline).
    /// <list type="bullet">
    /// <item><c>open2d:R</c> / <c>open3d:R</c> — opening with a disk in each z slice / a ball, radius R voxels.</item>
    /// <item><c>close2d:R</c> / <c>close3d:R</c> — closing with a disk / a ball, radius R voxels.</item>
    /// <item><c>largest[:N[:C]]</c> — keep the N largest components (default 1), connectivity C = 6, 18 or 26 (default 6).</item>
    /// <item><c>fill3d</c> / <c>fill2d</c> — fill holes not connected to the volume border / the slice border.</item>
    /// <item><c>fill</c> — <c>fill2d</c> for thin or anisotropic stacks, else <c>fill3d</c> (as the classical masker's auto mode).</item>
    /// <item><c>grow:D</c> / <c>erode:D</c> — dilate / erode by distance D in the voxel size's unit (voxels when the size is 1).</item>
    /// <item><c>minsize:N[:C]</c> — remove components smaller than N voxels, connectivity C (default 6).</item>
    /// </list>
    /// Radii and distances are non-negative decimals with a '.' separator; counts are integers.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown step or a bad number; the one-line message names the token.</exception>
    public static PostProcessPipeline Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string trimmed = spec.Trim();
        if (trimmed.Length == 0 || trimmed.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return new PostProcessPipeline([]);
        }

        var operations = new List<IMaskOperation>();
        foreach (string raw in trimmed.Split(','))
        {
            operations.Add(ParseStep(raw.Trim()));
        }

        return new PostProcessPipeline(operations);
    }

    /// <summary>The spec string (canonical form, "none" when empty); <see cref="Parse"/> reads it back to equal operations.</summary>
    public string ToSpec() => Operations.Count == 0 ? "none" : string.Join(",", Operations.Select(o => o.ToSpec()));

    /// <inheritdoc/>
    public override string ToString() => ToSpec();

    private static IMaskOperation ParseStep(string token)
    {
        if (token.Length == 0)
        {
            throw new ArgumentException($"Empty post-processing step in the spec; expected comma-separated steps: {Grammar}.");
        }

        string[] parts = token.Split(':');
        string name = parts[0].Trim().ToLowerInvariant();
        int args = parts.Length - 1;
        try
        {
            return name switch
            {
                "open2d" when args == 1 => new OpenOperation(Distance(parts[1], token), perSlice: true),
                "open3d" when args == 1 => new OpenOperation(Distance(parts[1], token), perSlice: false),
                "close2d" when args == 1 => new CloseOperation(Distance(parts[1], token), perSlice: true),
                "close3d" when args == 1 => new CloseOperation(Distance(parts[1], token), perSlice: false),
                "largest" when args <= 2 => new KeepLargestOperation(
                    args >= 1 ? (int)Integer(parts[1], token, 1, int.MaxValue) : 1,
                    args == 2 ? ParseConnectivity(parts[2], token) : Connectivity.Face),
                "fill" when args == 0 => new FillHolesAutoOperation(),
                "fill3d" when args == 0 => new FillHolesOperation(PerSlice: false),
                "fill2d" when args == 0 => new FillHolesOperation(PerSlice: true),
                "grow" when args == 1 => new GrowOperation(Distance(parts[1], token)),
                "erode" when args == 1 => new ErodeOperation(Distance(parts[1], token)),
                "minsize" when args is 1 or 2 => new RemoveSmallRegionsOperation(
                    Integer(parts[1], token, 0, long.MaxValue),
                    args == 2 ? ParseConnectivity(parts[2], token) : Connectivity.Face),
                "open2d" or "open3d" or "close2d" or "close3d" or "largest" or "fill" or "fill3d" or "fill2d" or "grow" or "erode" or "minsize" =>
                    throw new ArgumentException($"Post-processing step '{token}' has the wrong number of arguments; expected one of: {Grammar}."),
                _ => throw new ArgumentException($"Unknown post-processing step '{token}'; expected one of: {Grammar}."),
            };
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ArgumentException($"Post-processing step '{token}' is out of range: {e.Message.Split('\n')[0].Split(" (Parameter")[0]}", e);
        }
    }

    private static double Distance(string text, string token)
    {
        if (!double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value) || value < 0)
        {
            throw new ArgumentException($"Post-processing step '{token}': '{text}' is not a finite number ≥ 0.");
        }

        return value;
    }

    private static long Integer(string text, string token, long min, long max)
    {
        if (!long.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long value) || value < min || value > max)
        {
            throw new ArgumentException($"Post-processing step '{token}': '{text}' is not an integer ≥ {min}.");
        }

        return value;
    }

    private static Connectivity ParseConnectivity(string text, string token) => text.Trim() switch
    {
        "6" => Connectivity.Face,
        "18" => Connectivity.Edge,
        "26" => Connectivity.Vertex,
        _ => throw new ArgumentException($"Post-processing step '{token}': connectivity '{text}' must be 6, 18 or 26."),
    };
}
