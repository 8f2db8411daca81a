namespace EmMask.IO;

/// <summary>
/// Writes a file so that readers see either the old content or the complete new content: the data goes to a hidden
/// temp file in the same directory (same file system, so the final move is a rename), is flushed to disk, and only
/// then replaces the target. Any failure, cancellation included, deletes the temp and leaves the target untouched.
/// </summary>
internal static class AtomicFile
{
    /// <summary>The temp-file prefix; a crashed process may leave such files behind, and they are safe to delete.</summary>
    public const string TempMarker = ".tmp-";

    /// <summary>
    /// Writes <paramref name="target"/> through <paramref name="write"/>; <paramref name="beforeCommit"/> runs after the
    /// temp file is complete and before the rename (close readers of the old file there: Windows cannot replace an open file).
    /// </summary>
    public static void Write(string target, Action<FileStream> write, CancellationToken ct, Action? beforeCommit = null) =>
        WriteAll([(target, write)], ct, beforeCommit);

    /// <summary>
    /// Writes several files all or none: every temp is written and flushed first, and only then are they renamed onto
    /// their targets, so a failure or cancellation while writing leaves every target untouched (a failure between two
    /// renames, which only the file system can cause, is reported with the files already replaced).
    /// </summary>
    public static void WriteAll(IReadOnlyList<(string Target, Action<FileStream> Write)> files, CancellationToken ct, Action? beforeCommit = null)
    {
        var temps = new List<(string Temp, string Full)>(files.Count);
        try
        {
            foreach (var (target, write) in files)
            {
                ct.ThrowIfCancellationRequested();
                string full = Path.GetFullPath(target);
                string directory = Path.GetDirectoryName(full) ?? ".";
                if (!Directory.Exists(directory))
                {
                    throw new VolumeFormatException($"{target}: cannot write, directory '{directory}' does not exist.");
                }

                RemoveOrphans(full);
                string temp = Path.Combine(directory, $".{Path.GetFileName(full)}{TempMarker}{Environment.ProcessId}-{Guid.NewGuid():N}");
                temps.Add((temp, full));
                using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            ct.ThrowIfCancellationRequested();
            beforeCommit?.Invoke();
        }
        catch (Exception ex)
        {
            foreach (var (temp, _) in temps)
            {
                TryDelete(temp);
            }

            if (ex is IOException or UnauthorizedAccessException)
            {
                throw new VolumeFormatException($"{files[Math.Max(temps.Count - 1, 0)].Target}: cannot write ({OneLine(ex.Message)}).", ex);
            }

            throw;
        }

        for (int i = 0; i < temps.Count; i++)
        {
            try
            {
                File.Move(temps[i].Temp, temps[i].Full, overwrite: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                for (int j = i; j < temps.Count; j++)
                {
                    TryDelete(temps[j].Temp);
                }

                string replaced = temps.Count > 1 ? $"; {i} of {temps.Count} files were replaced before it" : string.Empty;
                throw new VolumeFormatException($"{temps[i].Full}: cannot write ({OneLine(ex.Message)}){replaced}.", ex);
            }
        }
    }

    /// <summary>
    /// Deletes temp files of <paramref name="target"/> left by writers that died (killed, power loss): those whose
    /// writer process no longer exists, and, for names without a process id (older versions), those not written for an
    /// hour. A live writer's temp is never touched. Returns how many were removed.
    /// </summary>
    internal static int RemoveOrphans(string target)
    {
        string full = Path.GetFullPath(target);
        string directory = Path.GetDirectoryName(full) ?? ".";
        string prefix = $".{Path.GetFileName(full)}{TempMarker}";
        int removed = 0;
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(directory, prefix + "*").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }

        foreach (string temp in candidates)
        {
            string rest = Path.GetFileName(temp)[prefix.Length..];
            int dash = rest.IndexOf('-', StringComparison.Ordinal);
            bool orphan = dash > 0 && int.TryParse(rest.AsSpan(0, dash), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int pid)
                ? !ProcessAlive(pid)
                : File.GetLastWriteTimeUtc(temp) < DateTime.UtcNow.AddHours(-1);
            if (orphan && File.Exists(temp))
            {
                TryDelete(temp);
                removed += File.Exists(temp) ? 0 : 1;
            }
        }

        return removed;
    }

    private static bool ProcessAlive(int pid)
    {
        if (pid == Environment.ProcessId)
        {
            return true;
        }

        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the temp name is unique and hidden, so a leftover never shadows real output.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    internal static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
