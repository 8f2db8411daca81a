using System.Diagnostics;
using System.Text.Json.Nodes;
using EmMask.Cli.Console;
using EmMask.Core.Masking;
using EmMask.Core.Volumes;
using EmMask.IO;
using EmMask.Learning.Inference;

namespace EmMask.Cli.Services;

/// <summary>
/// <c>emmask mask IN OUT --sections 3,5-7</c>: masks only the listed sections of the input, each as an image of its own
/// (as napari's "where: current section" does), post-processed on its own. Where OUT holds a mask of the input's
/// shape, those sections of it are replaced and every other section is kept, in one atomic write (with the confidence
/// map, and the coarser levels of an HDF5 mask, refreshed the same way); where OUT does not exist, it gets the listed
/// sections alone, stacked in ascending order. Only those sections of the input are read.
/// </summary>
internal sealed class SectionMasking(IReporter reporter, MaskingService service)
{
    /// <summary>The attribute of an updated mask that records each re-masked section (a JSON list, newest last).</summary>
    public const string RemaskedAttribute = "remasked_sections";

    /// <summary>The attribute of a new mask of listed sections alone that names them (<see cref="SectionList.Format"/>).</summary>
    public const string SectionsAttribute = "sections";

    public MaskOutcome Run(MaskRequest request, IReadOnlyList<int> sections, CancellationToken ct)
    {
        var shape = VolumeReader.ReadShape(request.Input);
        int rank = VolumeReader.ReadRank(request.Input);
        bool update = Check(request, sections, shape, rank);
        Volume<byte>? mask = update ? ReadExisting<byte>(request.Output, shape, "mask", VoxelType.UInt8) : null;
        Volume<float>? confidence = update && request.ConfidenceOutput is { } c ? ReadExisting<float>(c, shape, "confidence map", VoxelType.Float32) : null;

        var clock = Stopwatch.StartNew();
        var stages = new Dictionary<string, double>();
        var warnings = new List<string>();
        var notes = new List<string>();
        var unsplit = new List<int>();
        var thresholds = new List<double>();
        var records = new JsonArray();
        long tissue = 0;
        var (predictors, owned) = service.Predictors();
        using var lease = owned;
        for (int k = 0; k < sections.Count; k++)
        {
            int z = sections[k];
            var section = VolumeReader.ReadBlock(request.Input, (z, 0, 0), new Shape3(1, shape.Y, shape.X), ct);
            var result = service.Mask(section, request, $"{request.Method} mask z={z} ({k + 1} of {sections.Count})", predictors, stages, ct);
            request.PostProcess.Apply(result.Mask, null, ct);
            mask ??= new Volume<byte>(new Shape3(sections.Count, shape.Y, shape.X), section.VoxelSize);
            result.Mask.Slice(0).CopyTo(mask.Slice(update ? z : k));
            foreach (byte b in result.Mask.Span)
            {
                tissue += b;
            }

            if (request.ConfidenceOutput is not null)
            {
                confidence ??= new Volume<float>(new Shape3(sections.Count, shape.Y, shape.X), section.VoxelSize);
                result.Confidence.Slice(0).CopyTo(confidence.Slice(update ? z : k));
            }

            warnings.AddRange(result.Warnings.Select(w => $"z={z}: {w}"));
            notes.AddRange((result.Notes ?? []).Select(n => $"z={z}: {n}"));
            if (result.UnsplitSections is { Count: > 0 })
            {
                unsplit.Add(z);
            }

            thresholds.Add(result.Threshold);
            records.Add(new JsonObject
            {
                ["z"] = z,
                ["method"] = request.Method,
                ["parameters"] = JsonNode.Parse(MaskingService.ParametersJson(request)),
                ["threshold_used"] = result.Threshold,
                ["postprocess"] = request.PostProcess.ToSpec(),
                ["version"] = ToolVersion.Text,
            });
        }

        foreach (var line in warnings)
        {
            reporter.Warn(line);
        }

        foreach (var line in notes)
        {
            reporter.Info(line);
        }

        double compute = clock.Elapsed.TotalSeconds;
        clock.Restart();
        Write(request, sections, unsplit, update, mask!, confidence, records, rank, ct);
        reporter.Info(update
            ? $"section{(sections.Count == 1 ? string.Empty : "s")} {SectionList.Format(sections)} of {request.Output} re-masked (tissue below is theirs); its other {shape.Z - sections.Count} of {shape.Z} sections kept"
            : $"{request.Output} holds section{(sections.Count == 1 ? string.Empty : "s")} {SectionList.Format(sections)} of {request.Input} alone ({sections.Count} of {shape.Z})");
        long voxels = (long)sections.Count * shape.Y * shape.X;
        var s = mask!.Shape;
        return new MaskOutcome(
            request.Input.ToString(), request.Output.ToString(), request.Method, [s.Z, s.Y, s.X],
            voxels == 0 ? 0 : (double)tissue / voxels, Median(thresholds), 0, compute, clock.Elapsed.TotalSeconds,
            warnings, notes, stages, request.Method == "classical" ? unsplit : null, sections);
    }

    // Refuses what cannot work before any compute; true when OUT is a mask of the input's shape, to be updated.
    private static bool Check(MaskRequest request, IReadOnlyList<int> sections, Shape3 shape, int rank)
    {
        if (ColorImage.Looks(shape, rank))
        {
            throw new ArgumentException($"--sections: {request.Input} looks like one colour image, not a stack of sections; mask it without --sections.");
        }

        if (sections.Count == 0)
        {
            throw new ArgumentException("--sections names no section; give z indices from 0, e.g. 3,5-7.");
        }

        if (sections[^1] >= shape.Z)
        {
            throw new ArgumentException($"--sections {SectionList.Format(sections)}: {request.Input} has {shape.Z} section{(shape.Z == 1 ? string.Empty : "s")} (z = 0 to {shape.Z - 1}).");
        }

        if (request.Blocks is { Block: not null } or { Resume: true })
        {
            throw new ArgumentException("--sections masks the listed sections in memory, one at a time; leave out --block and --resume.");
        }

        bool update = false;
        if (OutputGuard.Existing(request.Output) is not null)
        {
            var found = VolumeReader.ReadShape(request.Output);
            update = found == shape;
            if (!update && !request.Force)
            {
                throw new ArgumentException(
                    $"--sections: {request.Output} exists with shape ({found.Z}, {found.Y}, {found.X}), not the input's ({shape.Z}, {shape.Y}, {shape.X}), so it is not this input's mask to update: "
                    + "give that mask, a new file for the listed sections alone, or --force to replace it with them. Nothing was written.");
            }
        }

        if (request.ConfidenceOutput is { } c && (OutputGuard.Existing(c) is not null) != update && (update || !request.Force))
        {
            throw new ArgumentException(update
                ? $"--sections updates the existing mask {request.Output}, but the confidence map {c} does not exist, so its other sections are unknown: give that mask's confidence map, or leave --confidence out."
                : $"--sections writes the listed sections alone to {request.Output}, but the confidence map {c} exists: give a new file, or --force to replace it.");
        }

        var written = new Shape3(update ? shape.Z : sections.Count, shape.Y, shape.X);
        long held = written.Length * (request.ConfidenceOutput is null ? 1 : 1 + sizeof(float)); // the mask (and confidence) in memory
        long budget = request.Blocks?.Budget ?? ByteSize.DefaultBudget();
        if (held > budget)
        {
            throw new ArgumentException(
                $"--sections holds the {(update ? "whole existing mask" : "listed sections' masks")}{(request.ConfidenceOutput is null ? string.Empty : " and confidence map")} in memory, {Size(held)}, "
                + $"more than the budget of {Size(budget)} (--max-memory): raise it, or re-mask the volume block by block. Nothing was written.");
        }

        VolumeWriter.CheckCanHold(request.Output, written, VoxelType.UInt8);
        if (request.ConfidenceOutput is { } confidence)
        {
            VolumeWriter.CheckCanHold(confidence, written, VoxelType.Float32);
        }

        return update;
    }

    // An existing output of the input's shape and the expected voxel type; anything else is refused before any compute.
    private static Volume<T> ReadExisting<T>(VolumePath path, Shape3 shape, string what, VoxelType type)
        where T : unmanaged
    {
        var found = VolumeReader.ReadShape(path);
        if (found != shape)
        {
            throw new ArgumentException(
                $"--sections writes into the existing {what} {path}, which has shape ({found.Z}, {found.Y}, {found.X}), not the input's ({shape.Z}, {shape.Y}, {shape.X}): "
                + $"give the {what} of this input's mask. Nothing was written.");
        }

        return VolumeReader.Read(path) as Volume<T>
            ?? throw new ArgumentException($"--sections writes into the existing {what} {path}, which is not {type}: give a {what} written by emmask. Nothing was written.");
    }

    private static void Write(MaskRequest request, IReadOnlyList<int> sections, IReadOnlyList<int> unsplit, bool update, Volume<byte> mask, Volume<float>? confidence, JsonArray records, int rank, CancellationToken ct)
    {
        Dictionary<string, string> attributes;
        int levels = request.Multiscale;
        if (update)
        {
            attributes = new Dictionary<string, string>(VolumeReader.ReadAttributes(request.Output));
            var all = attributes.TryGetValue(RemaskedAttribute, out var before) && JsonNode.Parse(before) is JsonArray earlier ? earlier : [];
            foreach (var record in records)
            {
                all.Add(record!.DeepClone());
            }

            attributes[RemaskedAttribute] = all.ToJsonString();
            // Re-masked sections leave the list of unsplit sections, unless they still did not split.
            var listed = attributes.TryGetValue(MaskingService.UnsplitAttribute, out var text) ? SectionList.Parse(text) : [];
            var still = listed.Except(sections).Union(unsplit).Order().ToList();
            attributes.Remove(MaskingService.UnsplitAttribute);
            if (still.Count > 0)
            {
                attributes[MaskingService.UnsplitAttribute] = SectionList.Format(still);
            }
            levels = Math.Max(levels, MultiscaleLevels.Existing(request.Output));
            rank = VolumeReader.ReadRank(request.Output);
        }
        else
        {
            attributes = new Dictionary<string, string>(MaskingService.RunAttributes(request))
            {
                [SectionsAttribute] = SectionList.Format(sections),
            };
            if (unsplit.Count > 0)
            {
                attributes[MaskingService.UnsplitAttribute] = SectionList.Format(unsplit); // the input's z, as the sections attribute
            }
            rank = sections.Count == 1 ? rank : 3;
        }

        ct.ThrowIfCancellationRequested();
        var options = new VolumeWriteOptions { Force = update || request.Force, Attributes = attributes, SingleSliceRank = rank };
        if (levels > 0)
        {
            var rows = new VolumeRows(mask);
            VolumeWriter.WriteRows(request.Output, rows, options, ct, MultiscaleLevels.Of(levels, f => new MaxPooledRows(rows, f), attributes));
        }
        else
        {
            VolumeWriter.Write(request.Output, mask, options, ct);
        }

        if (request.ConfidenceOutput is { } c && confidence is not null)
        {
            VolumeWriter.Write(c, confidence, options with { Attributes = update ? new Dictionary<string, string>(VolumeReader.ReadAttributes(c)) { [RemaskedAttribute] = attributes[RemaskedAttribute] } : attributes }, ct);
        }
    }

    private static string Size(long bytes) => bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):F1} GiB" : bytes >= 1L << 20 ? $"{bytes / (double)(1L << 20):F1} MiB" : $"{bytes / 1024.0:F1} KiB";

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : 0.5 * (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]);
    }
}
