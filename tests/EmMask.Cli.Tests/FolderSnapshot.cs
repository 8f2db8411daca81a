namespace EmMask.Cli.Tests;

/// <summary>Every file under a folder (hidden ones and a block store's too) and its bytes, to show that a refused or failed run changed nothing.</summary>
internal static class FolderSnapshot
{
    /// <summary>The folder's entries (relative paths) and their bytes (empty for folders).</summary>
    public static Dictionary<string, byte[]> Take(string folder) =>
        Directory.GetFileSystemEntries(folder, "*", SearchOption.AllDirectories)
            .ToDictionary(p => Path.GetRelativePath(folder, p), p => Directory.Exists(p) ? [] : File.ReadAllBytes(p));

    /// <summary>Asserts that the folder holds exactly the entries of <paramref name="before"/>, byte for byte.</summary>
    public static void AssertUnchanged(Dictionary<string, byte[]> before, string folder)
    {
        var after = Take(folder);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (name, bytes) in before)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(after[name]), $"{name} changed");
        }
    }
}
