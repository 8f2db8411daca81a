namespace EmMask.IO.Tests;

public class VolumePathTests
{
    [Theory]
    [InlineData("a.h5:/raw", "a.h5", "/raw", VolumeFileKind.Hdf5)]
    [InlineData("dir/a.hdf5:/group/raw", "dir/a.hdf5", "/group/raw", VolumeFileKind.Hdf5)]
    [InlineData("a.HDF:raw", "a.HDF", "/raw", VolumeFileKind.Hdf5)]
    [InlineData("a.h5", "a.h5", "/data", VolumeFileKind.Hdf5)]
    [InlineData("a.h5:", "a.h5", "/data", VolumeFileKind.Hdf5)]
    [InlineData("weird:name/a.h5:/raw", "weird:name/a.h5", "/raw", VolumeFileKind.Hdf5)]
    [InlineData("stack.tif", "stack.tif", null, VolumeFileKind.Tiff)]
    [InlineData("stack.TIFF", "stack.TIFF", null, VolumeFileKind.Tiff)]
    [InlineData("vol.npy", "vol.npy", null, VolumeFileKind.Npy)]
    public void Parse_SplitsFileAndDataset(string text, string file, string? dataset, VolumeFileKind kind)
    {
        var path = VolumePath.Parse(text, "/data");
        Assert.Equal(file, path.File);
        Assert.Equal(dataset, path.Dataset);
        Assert.Equal(kind, path.Kind);
    }

    [Fact]
    public void ToString_RoundTrips()
    {
        Assert.Equal("a.h5:/g/raw", VolumePath.Parse("a.h5:/g/raw", "/x").ToString());
        Assert.Equal("v.npy", VolumePath.Parse("v.npy", "/x").ToString());
    }

    [Fact]
    public void Parse_ZarrNamesAZarrArray() => Assert.Equal(VolumeFileKind.Zarr, VolumePath.Parse("volume.zarr", "/raw").Kind);

    [Theory]
    [InlineData("notes.txt")]
    [InlineData("noextension")]
    [InlineData("stack.tif:/raw")]
    public void Parse_UnknownExtension_Throws(string text)
    {
        var ex = Assert.Throws<VolumeFormatException>(() => VolumePath.Parse(text, "/raw"));
        Assert.Contains("unknown volume format", ex.Message);
    }

    [Fact]
    public void Parse_EmptyText_Throws() => Assert.ThrowsAny<ArgumentException>(() => VolumePath.Parse(" ", "/raw"));

    [Fact]
    public void Parse_BadDatasetPath_Throws() => Assert.Throws<VolumeFormatException>(() => VolumePath.Parse("a.h5:/g//raw", "/raw"));

    [Theory]
    [InlineData("a.h5:/mask", true)]
    [InlineData("a.h5:mask/", true)]
    [InlineData("a.h5:/g/raw", true)]
    [InlineData("a.h5:/mask_s1", false)]
    [InlineData("a.h5:/g", false)]
    [InlineData("a.npy", false)]
    public void IsListedIn_MatchesListedNamesWithOrWithoutTheLeadingSlash(string text, bool listed) =>
        Assert.Equal(listed, VolumePath.Parse(text, "/raw").IsListedIn(["mask", "/g/raw/", "raw"]));
}
