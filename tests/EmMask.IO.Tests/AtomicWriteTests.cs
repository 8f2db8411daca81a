using System.Buffers;
using EmMask.Core.Volumes;

namespace EmMask.IO.Tests;

/// <summary>A failed or refused write leaves the existing output byte-identical and no temp file behind.</summary>
public class AtomicWriteTests
{
    public static TheoryData<string> Outputs() => ["out.h5:/raw", "out.tif", "out.npy"];

    [Theory]
    [MemberData(nameof(Outputs))]
    public void WithoutForce_ExistingOutputIsRefusedAndKept(string name)
    {
        using var dir = new TempDir();
        var path = VolumePath.Parse(dir.File(name), "/raw");
        VolumeWriter.Write(path, Volumes.Make("uint8", new Shape3(3, 10, 10)), VolumeWriteOptions.Default);
        var before = File.ReadAllBytes(path.File);
        var entries = dir.Entries();

        var ex = Assert.Throws<OutputExistsException>(() => VolumeWriter.Write(path, Volumes.Make("float32", new Shape3(2, 5, 5)), VolumeWriteOptions.Default));

        Assert.Contains("already exists", ex.Message);
        Assert.Equal(path.ToString(), ex.Output);
        Assert.Contains("--force", ex.Message);
        Assert.Equal(before, File.ReadAllBytes(path.File));
        Assert.Equal(entries, dir.Entries());
    }

    [Theory]
    [MemberData(nameof(Outputs))]
    public void TempFilesOfDeadWritersAreRemovedAndLiveOnesKept(string name)
    {
        using var dir = new TempDir();
        var path = VolumePath.Parse(dir.File(name), "/raw");
        string file = System.IO.Path.GetFileName(path.File);
        int dead = DeadProcessId();
        string Temp(string suffix)
        {
            string temp = dir.File($".{file}{AtomicFile.TempMarker}{suffix}");
            File.WriteAllBytes(temp, new byte[1000]);
            return temp;
        }

        string killed = Temp($"{dead}-0123456789abcdef");          // a writer killed with -9
        string live = Temp($"{Environment.ProcessId}-fedcba9876543210"); // a writer still running (this process)
        string oldStyle = Temp("0123456789abcdef0123456789abcdef");   // no process id (older versions), stale
        File.SetLastWriteTimeUtc(oldStyle, DateTime.UtcNow.AddHours(-2));
        string recent = Temp("fedcba9876543210fedcba9876543210");    // no process id, written a moment ago
        string other = dir.File($".other.h5{AtomicFile.TempMarker}{dead}-00");
        File.WriteAllBytes(other, [1]);

        VolumeWriter.Write(path, Volumes.Make("uint8", new Shape3(2, 8, 8)), VolumeWriteOptions.Default);

        Assert.False(File.Exists(killed));
        Assert.False(File.Exists(oldStyle));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(recent));
        Assert.True(File.Exists(other)); // another output's temp is that output's business
        Assert.True(File.Exists(path.File));
    }

    /// <summary>The id of a process that has exited.</summary>
    private static int DeadProcessId()
    {
        using var process = System.Diagnostics.Process.Start("/bin/true")!;
        process.WaitForExit();
        return process.Id;
    }

    [Theory]
    [MemberData(nameof(Outputs))]
    public void Force_ReplacesTheOutput(string name)
    {
        using var dir = new TempDir();
        var path = VolumePath.Parse(dir.File(name), "/raw");
        VolumeWriter.Write(path, Volumes.Make("uint8", new Shape3(3, 10, 10)), new VolumeWriteOptions { Attributes = new Dictionary<string, string> { ["old"] = "1" } });
        var replacement = Volumes.Make("float32", new Shape3(2, 5, 7), new VoxelSize(50, 10, 10));

        VolumeWriter.Write(path, replacement, new VolumeWriteOptions { Force = true });

        var back = VolumeReader.Read(path);
        Volumes.AssertEqual(replacement, back);
        Assert.Equal(new VoxelSize(50, 10, 10), back.VoxelSize);
        Assert.False(VolumeReader.ReadAttributes(path).ContainsKey("old"));
        Assert.DoesNotContain(dir.Entries(), e => e.Contains(".tmp-"));
    }

    [Theory]
    [MemberData(nameof(Outputs))]
    public void VolumeThatFailsMidWrite_LeavesExistingOutputIdentical(string name)
    {
        using var dir = new TempDir();
        var path = VolumePath.Parse(dir.File(name), "/raw");
        VolumeWriter.Write(path, Volumes.Make("uint16", new Shape3(3, 10, 10)), VolumeWriteOptions.Default);
        var before = File.ReadAllBytes(path.File);
        var entries = dir.Entries();
        var memory = new FailingMemory<float>(new Shape3(40, 30, 20), failAfter: 8, cancel: null);

        var ex = Assert.Throws<VolumeFormatException>(() => VolumeWriter.Write(path, memory.Volume, new VolumeWriteOptions { Force = true }));

        Assert.Contains("cannot write (disk on fire)", ex.Message);
        Assert.True(memory.Calls > 8, "the write had started before it failed");
        Assert.Equal(before, File.ReadAllBytes(path.File));
        Assert.Equal(entries, dir.Entries());
    }

    [Theory]
    [MemberData(nameof(Outputs))]
    public void CancelledMidWrite_LeavesExistingOutputIdentical(string name)
    {
        using var dir = new TempDir();
        var path = VolumePath.Parse(dir.File(name), "/raw");
        VolumeWriter.Write(path, Volumes.Make("uint8", new Shape3(3, 10, 10)), VolumeWriteOptions.Default);
        var before = File.ReadAllBytes(path.File);
        var entries = dir.Entries();
        using var cts = new CancellationTokenSource();
        var memory = new FailingMemory<byte>(new Shape3(40, 30, 20), failAfter: 5, cancel: cts);

        Assert.ThrowsAny<OperationCanceledException>(() => VolumeWriter.Write(path, memory.Volume, new VolumeWriteOptions { Force = true }, cts.Token));

        Assert.Equal(before, File.ReadAllBytes(path.File));
        Assert.Equal(entries, dir.Entries());
    }

    [Theory]
    [MemberData(nameof(Outputs))]
    public void CancelledMidWrite_WithoutExistingOutput_LeavesNothing(string name)
    {
        using var dir = new TempDir();
        var path = VolumePath.Parse(dir.File(name), "/raw");
        using var cts = new CancellationTokenSource();
        var memory = new FailingMemory<byte>(new Shape3(40, 30, 20), failAfter: 5, cancel: cts);

        Assert.ThrowsAny<OperationCanceledException>(() => VolumeWriter.Write(path, memory.Volume, VolumeWriteOptions.Default, cts.Token));

        Assert.Empty(dir.Entries());
    }

    [Fact]
    public void MissingDirectory_IsAClearError()
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<VolumeFormatException>(() => VolumeWriter.Write(new VolumePath(dir.File("no/such/v.npy"), null), Volumes.Make("uint8", new Shape3(1, 2, 2)), VolumeWriteOptions.Default));
        Assert.Contains("does not exist", ex.Message);
    }

    [Fact]
    public void Hdf5_AddingADataset_KeepsTheOthers_AndReplacingOneNeedsForce()
    {
        using var dir = new TempDir();
        string file = dir.File("a.h5");
        var raw = Volumes.Make("uint8", new Shape3(5, 20, 30), new VoxelSize(40, 4, 4));
        var prob = Volumes.Make("float32", new Shape3(5, 20, 30));
        VolumeWriter.Write(new VolumePath(file, "/raw"), raw, new VolumeWriteOptions { Attributes = new Dictionary<string, string> { ["a"] = "raw" } });

        VolumeWriter.Write(new VolumePath(file, "/pred/prob"), prob, VolumeWriteOptions.Default);

        Assert.Equal(["/pred/prob", "/raw"], VolumeReader.ListDatasets(file).Order());
        var rawBack = VolumeReader.Read(new VolumePath(file, "/raw"));
        Volumes.AssertEqual(raw, rawBack);
        Assert.Equal(raw.VoxelSize, rawBack.VoxelSize);
        Assert.Equal("raw", VolumeReader.ReadAttributes(new VolumePath(file, "/raw"))["a"]);
        Volumes.AssertEqual(prob, VolumeReader.Read(new VolumePath(file, "/pred/prob")));

        var before = File.ReadAllBytes(file);
        var mask = Volumes.Fill<byte>(new Shape3(5, 20, 30), null, i => (byte)(i & 1));
        Assert.Throws<OutputExistsException>(() => VolumeWriter.Write(new VolumePath(file, "/raw"), mask, VolumeWriteOptions.Default));
        Assert.Equal(before, File.ReadAllBytes(file));

        VolumeWriter.Write(new VolumePath(file, "/raw"), mask, new VolumeWriteOptions { Force = true });
        Volumes.AssertEqual(mask, VolumeReader.Read(new VolumePath(file, "/raw")));
        Volumes.AssertEqual(prob, VolumeReader.Read(new VolumePath(file, "/pred/prob")));
    }

    [Fact]
    public void Hdf5_DatasetUnderAnExistingDataset_IsRefused()
    {
        using var dir = new TempDir();
        string file = dir.File("a.h5");
        VolumeWriter.Write(new VolumePath(file, "/raw"), Volumes.Make("uint8", new Shape3(1, 4, 4)), VolumeWriteOptions.Default);

        var ex = Assert.Throws<VolumeFormatException>(() => VolumeWriter.Write(new VolumePath(file, "/raw/x"), Volumes.Make("uint8", new Shape3(1, 4, 4)), new VolumeWriteOptions { Force = true }));
        Assert.Contains("is a dataset, not a group", ex.Message);
    }

    [H5pyFact]
    public void Hdf5_UncopyableContent_FailsAfterTheTempFileExisted_AndKeepsTheFile()
    {
        using var dir = new TempDir();
        string file = dir.File("rec.h5");
        Python.Run(
            """
            import sys, h5py, numpy as np
            with h5py.File(sys.argv[1], 'w') as f:
                f['a'] = np.arange(1000, dtype='u1').reshape(10, 10, 10)
                f['z_record'] = np.zeros(3, dtype=[('a', 'i4'), ('b', 'f4')])
            """,
            file);
        var before = File.ReadAllBytes(file);

        var ex = Assert.Throws<VolumeFormatException>(() => VolumeWriter.Write(new VolumePath(file, "/new"), Volumes.Make("uint8", new Shape3(2, 3, 4)), VolumeWriteOptions.Default));

        Assert.Contains("/z_record", ex.Message);
        Assert.Contains("cannot copy", ex.Message);
        Assert.Equal(before, File.ReadAllBytes(file));
        Assert.Equal(["rec.h5"], dir.Entries());
    }

    [Fact]
    public void Hdf5_NotAnHdf5File_IsRefusedWithoutForce_ReplacedWithForce()
    {
        using var dir = new TempDir();
        string file = dir.File("text.h5");
        File.WriteAllText(file, "not hdf5");
        var volume = Volumes.Make("uint8", new Shape3(2, 3, 4));

        var ex = Assert.Throws<VolumeFormatException>(() => VolumeWriter.Write(new VolumePath(file, "/raw"), volume, VolumeWriteOptions.Default));
        Assert.Contains("--force", ex.Message);
        Assert.Equal("not hdf5", File.ReadAllText(file));

        VolumeWriter.Write(new VolumePath(file, "/raw"), volume, new VolumeWriteOptions { Force = true });
        Volumes.AssertEqual(volume, VolumeReader.Read(new VolumePath(file, "/raw")));
    }

    /// <summary>
    /// Memory whose span getter fails (or cancels a token) after a number of calls: writers fetch rows or slices
    /// as they go, so this fails deterministically in the middle of a write.
    /// </summary>
    private sealed class FailingMemory<T>(Shape3 shape, int failAfter, CancellationTokenSource? cancel) : MemoryManager<T>
        where T : unmanaged
    {
        private readonly T[] data = new T[shape.Length];
        private bool armed;

        public int Calls { get; private set; }

        public Volume<T> Volume
        {
            get
            {
                var volume = new Volume<T>(shape, Memory);
                armed = true;
                return volume;
            }
        }

        public override Span<T> GetSpan()
        {
            if (armed && ++Calls > failAfter)
            {
                if (cancel is null)
                {
                    throw new IOException("disk on fire");
                }

                cancel.Cancel();
            }

            return data;
        }

        public override MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
