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
    public static void Write(string target, Action<FileStream> write, CancellationToken ct, Action? beforeCommit = null)
    {
        string full = Path.GetFullPath(target);
        string directory = Path.GetDirectoryName(full) ?? ".";
        if (!Directory.Exists(directory))
        {
            throw new VolumeFormatException($"{target}: cannot write, directory '{directory}' does not exist.");
        }

        string temp = Path.Combine(directory, $".{Path.GetFileName(full)}{TempMarker}{Guid.NewGuid():N}");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16))
            {
                write(stream);
                ct.ThrowIfCancellationRequested();
                stream.Flush(flushToDisk: true);
            }

            beforeCommit?.Invoke();
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception ex)
        {
            TryDelete(temp);
            if (ex is IOException or UnauthorizedAccessException)
            {
                throw new VolumeFormatException($"{target}: cannot write ({OneLine(ex.Message)}).", ex);
            }

            throw;
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
