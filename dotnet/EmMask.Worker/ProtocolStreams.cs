using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace EmMask.Worker;

/// <summary>
/// Reserves the process's stdout for the protocol. Managed writes (Console.Out, logging) go to stderr; on Unix the
/// file descriptor itself is moved too, so native libraries (libtorch printing warnings) cannot corrupt the
/// JSON lines: fd 1 is duplicated for the protocol and then pointed at stderr.
/// </summary>
internal static partial class ProtocolStreams
{
    /// <summary>Returns the protocol output stream; afterwards everything else written to stdout lands on stderr.</summary>
    public static Stream TakeStandardOutput()
    {
        Console.SetOut(Console.Error);
        if (OperatingSystem.IsWindows())
        {
            return Console.OpenStandardOutput();
        }

        int protocolFd = Dup(1);
        if (protocolFd < 0 || Dup2(2, 1) < 0)
        {
            return Console.OpenStandardOutput();
        }

        return new FileStream(new SafeFileHandle(protocolFd, ownsHandle: true), FileAccess.Write, bufferSize: 0);
    }

    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static partial int Dup(int fd);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static partial int Dup2(int oldFd, int newFd);
}
