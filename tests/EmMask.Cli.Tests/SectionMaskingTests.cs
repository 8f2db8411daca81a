using System.Text.Json;
using System.Text.Json.Nodes;
using EmMask.Core.Phantom;
using EmMask.Core.Volumes;
using EmMask.IO;

namespace EmMask.Cli.Tests;

/// <summary><c>emmask mask --sections</c>: chosen sections re-masked into an existing mask, or written alone.</summary>
public class SectionMaskingTests
{
    // Six 96² sections of a tissue edge on resin: 2D mode, so each section's mask depends on that section alone.
    private static TempFolder Stack()
    {
        var t = new TempFolder();
        var raw = EmPhantom.Generate(new PhantomOptions { Seed = 4, Shape = new Shape3(6, 96, 96) }).Raw;
        VolumeWriter.Write(VolumePath.Parse(t["s.npy"], "/raw"), raw, new VolumeWriteOptions());
        return t;
    }

    private static Volume<byte> Mask(string path) => Assert.IsType<Volume<byte>>(VolumeReader.Read(VolumePath.Parse(path, "/mask")));

    [Fact]
    public void ListedSectionsAreReplacedAndTheOthersKeptByteForByte()
    {
        using var t = Stack();
        Assert.Equal(0, CliRunner.Invoke("mask", t["s.npy"], t["m.npy"], "-q").ExitCode);
        var before = Mask(t["m.npy"]);
        // A threshold far above the default changes what a section is called; only sections 1, 3 and 4 may change.
        var run = CliRunner.Invoke("mask", t["s.npy"], t["m.npy"], "--sections", "1,3-4", "--threshold", "40", "--json");
        Assert.True(run.ExitCode == 0, run.Stderr);
        var after = Mask(t["m.npy"]);
        Assert.Equal(before.Shape, after.Shape);
        foreach (int z in new[] { 0, 2, 5 })
        {
            Assert.True(before.Slice(z).SequenceEqual(after.Slice(z)), $"section {z} changed");
        }

        foreach (int z in new[] { 1, 3, 4 })
        {
            Assert.False(before.Slice(z).SequenceEqual(after.Slice(z)), $"section {z} was not re-masked");
        }

        var json = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal([1, 3, 4], json.GetProperty("Sections").EnumerateArray().Select(e => e.GetInt32()));
        var record = JsonNode.Parse(VolumeReader.ReadAttributes(VolumePath.Parse(t["m.npy"], "/mask"))["remasked_sections"])!.AsArray();
        Assert.Equal([1, 3, 4], record.Select(r => r!["z"]!.GetValue<int>()));
        Assert.Equal("40", record[0]!["parameters"]!["threshold"]!.GetValue<string>());
        Assert.Equal("classical", VolumeReader.ReadAttributes(VolumePath.Parse(t["m.npy"], "/mask"))["method"]); // the mask's own record stays
    }

    [Fact]
    public void AReMaskedSectionIsTheMaskOfThatSectionAlone()
    {
        using var t = Stack();
        Assert.Equal(0, CliRunner.Invoke("mask", t["s.npy"], t["m.npy"], "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke("mask", t["s.npy"], t["m.npy"], "--sections", "2", "--threshold", "6", "-q").ExitCode);
        // Section 2 on its own, written alone to a new file (one section: a 2D image, here a PNG).
        var alone = CliRunner.Invoke("mask", t["s.npy"], t["z2.png"], "--sections", "2", "--threshold", "6");
        Assert.True(alone.ExitCode == 0, alone.Stderr);
        Assert.Contains("holds section 2 of", alone.Stderr + alone.Stdout, StringComparison.Ordinal);
        var single = Mask(t["z2.png"]);
        Assert.Equal(new Shape3(1, 96, 96), single.Shape);
        Assert.True(single.Slice(0).SequenceEqual(Mask(t["m.npy"]).Slice(2)));
        Assert.Contains("\"z\":2", VolumeReader.ReadAttributes(VolumePath.Parse(t["m.npy"], "/mask"))["remasked_sections"], StringComparison.Ordinal);
    }

    [Fact]
    public void TheMaskNamesItsUnsplitSectionsAndAReMaskTakesThemOff()
    {
        using var t = Stack();
        // Section 2 becomes flat noise: its texture cannot split, so the mask file names it.
        var raw = Assert.IsType<Volume<byte>>(VolumeReader.Read(VolumePath.Parse(t["s.npy"], "/raw")));
        var noise = new Random(2);
        foreach (ref byte v in raw.Slice(2))
        {
            v = (byte)noise.Next(90, 110);
        }

        VolumeWriter.Write(VolumePath.Parse(t["s.npy"], "/raw"), raw, new VolumeWriteOptions { Force = true });
        var run = CliRunner.Invoke("mask", t["s.npy"], t["m.npy"], "--json");
        Assert.True(run.ExitCode == 0, run.Stderr);
        var unsplit = JsonDocument.Parse(run.Stdout).RootElement.GetProperty("UnsplitSections").EnumerateArray().Select(e => e.GetInt32()).ToList();
        Assert.Contains(2, unsplit);
        // The attribute lists sections and ranges ("1,3-4"), as --sections takes them.
        List<int> Listed() => [.. VolumeReader.ReadAttributes(VolumePath.Parse(t["m.npy"], "/mask")).GetValueOrDefault("unsplit_sections", string.Empty)
            .Split(',', StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(part => part.Split('-') is [var a, var b] ? Enumerable.Range(int.Parse(a), int.Parse(b) - int.Parse(a) + 1) : [int.Parse(part)])];
        Assert.Equal(unsplit, Listed());

        // Re-masked with a threshold given (nothing left to split), section 2 leaves the list; the others stay.
        Assert.Equal(0, CliRunner.Invoke("mask", t["s.npy"], t["m.npy"], "--sections", "2", "--threshold", "3", "-q").ExitCode);
        Assert.Equal(unsplit.Where(z => z != 2), Listed());
    }

    [Fact]
    public void SeveralSectionsAloneAreStackedInAscendingOrder()
    {
        using var t = Stack();
        Assert.Equal(0, CliRunner.Invoke("mask", t["s.npy"], t["m.npy"], "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke("mask", t["s.npy"], t["few.npy"], "--sections", "5,0", "-q").ExitCode);
        var few = Mask(t["few.npy"]);
        var whole = Mask(t["m.npy"]);
        Assert.Equal(new Shape3(2, 96, 96), few.Shape);
        Assert.True(few.Slice(0).SequenceEqual(whole.Slice(0)));
        Assert.True(few.Slice(1).SequenceEqual(whole.Slice(5)));
        Assert.Equal("0,5", VolumeReader.ReadAttributes(VolumePath.Parse(t["few.npy"], "/mask"))["sections"]);
    }

    [Fact]
    public void AnHdf5MaskKeepsItsConfidenceAndCoarserLevelsInStep()
    {
        using var t = Stack();
        Assert.Equal(0, CliRunner.Invoke("mask", t["s.npy"], t["m.h5:/mask"], "--multiscale", "1", "--confidence", t["m.h5:/confidence"], "-q").ExitCode);
        var confidenceBefore = Assert.IsType<Volume<float>>(VolumeReader.Read(VolumePath.Parse(t["m.h5:/confidence"], "/confidence")));
        var run = CliRunner.Invoke("mask", t["s.npy"], t["m.h5:/mask"], "--sections", "3", "--threshold", "40", "--confidence", t["m.h5:/confidence"], "-q");
        Assert.True(run.ExitCode == 0, run.Stderr);
        var mask = Mask(t["m.h5:/mask"]);
        var coarse = Assert.IsType<Volume<byte>>(VolumeReader.Read(VolumePath.Parse(t["m.h5:/mask_s1"], "/mask")));
        for (int z = 0; z < coarse.Shape.Z; z++)
        {
            for (int y = 0; y < coarse.Shape.Y; y++)
            {
                for (int x = 0; x < coarse.Shape.X; x++)
                {
                    byte max = 0;
                    for (int d = 0; d < 8; d++)
                    {
                        max = Math.Max(max, mask[(2 * z) + (d & 1), (2 * y) + ((d >> 1) & 1), (2 * x) + (d >> 2)]);
                    }

                    Assert.Equal(max, coarse[z, y, x]);
                }
            }
        }

        var confidence = Assert.IsType<Volume<float>>(VolumeReader.Read(VolumePath.Parse(t["m.h5:/confidence"], "/confidence")));
        Assert.True(confidence.Slice(0).SequenceEqual(confidenceBefore.Slice(0)));
        Assert.False(confidence.Slice(3).SequenceEqual(confidenceBefore.Slice(3)));
    }

    [Fact]
    public void BadSectionListsAndMismatchedOutputsAreRefusedAndChangeNothing()
    {
        using var t = Stack();
        Assert.Equal(0, CliRunner.Invoke("mask", t["s.npy"], t["m.npy"], "-q").ExitCode);
        Assert.Equal(0, CliRunner.Invoke("mask", t["s.npy"], t["other.npy"], "--sections", "1", "-q").ExitCode);
        byte[] mask = File.ReadAllBytes(t["m.npy"]), other = File.ReadAllBytes(t["other.npy"]);

        void Refused(string expected, params string[] args)
        {
            var run = CliRunner.Invoke(["mask", t["s.npy"], .. args]);
            Assert.True(run.ExitCode != 0, $"accepted: {string.Join(' ', args)}");
            Assert.Contains(expected, run.Stderr, StringComparison.Ordinal);
            Assert.Equal(mask, File.ReadAllBytes(t["m.npy"]));
            Assert.Equal(other, File.ReadAllBytes(t["other.npy"]));
        }

        Refused("has 6 sections (z = 0 to 5)", t["m.npy"], "--sections", "2,6");
        Refused("runs backwards", t["m.npy"], "--sections", "4-2");
        Refused("is not a section index", t["m.npy"], "--sections", "two");
        Refused("not this input's mask to update", t["other.npy"], "--sections", "3");
        Refused("confidence map", t["m.npy"], "--sections", "3", "--confidence", t["c.npy"]);
        Refused("in memory", t["m.npy"], "--sections", "3", "--block", "64");
        Refused("more than the budget", t["m.npy"], "--sections", "3", "--max-memory", "10K"); // the mask is 55 KB
        Assert.False(File.Exists(t["c.npy"]));

        // --force replaces an output of another shape with the listed sections alone.
        Assert.Equal(0, CliRunner.Invoke("mask", t["s.npy"], t["other.npy"], "--sections", "3-4", "--force", "-q").ExitCode);
        Assert.Equal(new Shape3(2, 96, 96), Mask(t["other.npy"]).Shape);
    }
}
