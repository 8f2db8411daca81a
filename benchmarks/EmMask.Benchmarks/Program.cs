// Times the classical masker's compute (no IO) on a .npy volume: best of N runs after a warm-up.
// Usage: EmMask.Benchmarks VOLUME.npy [repeats]   -> one JSON line on stdout.
using System.Diagnostics;
using System.Text.Json;
using EmMask.Core.Masking;
using EmMask.IO.Formats;

if (args.Length < 1)
{
    Console.Error.WriteLine("usage: EmMask.Benchmarks VOLUME.npy [repeats]");
    return 2;
}

var volume = NpyFormat.Read(args[0]);
int repeats = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3;
var options = ClassicalMaskOptions.Default;
ClassicalMasker.Run(volume, options); // warm-up: JIT and tiered compilation
var times = new List<double>();
long tissue = 0;
for (int i = 0; i < repeats; i++)
{
    var clock = Stopwatch.StartNew();
    var result = ClassicalMasker.Run(volume, options);
    times.Add(clock.Elapsed.TotalSeconds);
    tissue = 0;
    foreach (byte b in result.Mask.Span)
    {
        tissue += b;
    }
}

double best = times.Min();
Console.WriteLine(JsonSerializer.Serialize(new
{
    voxels = volume.Shape.Length,
    best_seconds = best,
    mvox_per_s = volume.Shape.Length / best / 1e6,
    peak_rss_mb = Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0,
    tissue_voxels = tissue,
    threads = Environment.ProcessorCount,
}));
return 0;
