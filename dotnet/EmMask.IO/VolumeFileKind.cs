namespace EmMask.IO;

/// <summary>The container format of a volume file, decided by its extension.</summary>
public enum VolumeFileKind
{
    /// <summary>HDF5 (<c>.h5</c>, <c>.hdf5</c>, <c>.hdf</c>); one file holds several named datasets.</summary>
    Hdf5,

    /// <summary>Multi-page TIFF (<c>.tif</c>, <c>.tiff</c>); one page per z slice.</summary>
    Tiff,

    /// <summary>numpy <c>.npy</c>.</summary>
    Npy,

    /// <summary>One 2D raster image (<c>.png</c>, <c>.jpg</c>, <c>.jpeg</c>, <c>.bmp</c>); written as PNG only.</summary>
    Image,

    /// <summary>MRC (<c>.mrc</c>, <c>.mrcs</c>, <c>.rec</c>, <c>.st</c>, <c>.ali</c>, <c>.map</c>), as IMOD, SerialEM and EMPIAR store volumes.</summary>
    Mrc,

    /// <summary>A Zarr v2 array (a folder holding <c>.zarray</c>; read only).</summary>
    Zarr,

    /// <summary>An N5 dataset (a folder holding <c>attributes.json</c> with <c>dimensions</c>; read only).</summary>
    N5,

    /// <summary>One file per section: a folder, or a wildcard pattern in the file name (<c>s/*.tif</c>); written through a pattern with one <c>*</c>.</summary>
    Sequence,
}
