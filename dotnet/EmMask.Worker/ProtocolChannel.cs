using System.Text;
using EmMask.Remote;

namespace EmMask.Worker;

/// <summary>The worker's end of the protocol: JSON lines in on stdin, out on stdout (thread-safe writes).</summary>
public sealed class ProtocolChannel(Stream input, Stream output)
{
    private readonly StreamReader _reader = new(input, Encoding.UTF8);
    private readonly StreamWriter _writer = new(output, new UTF8Encoding(false)) { AutoFlush = true };
    private readonly object _lock = new();

    /// <summary>The next message, or null at end of input (the client closed the pipe or died).</summary>
    public async Task<WorkerMessage?> ReadAsync(CancellationToken cancellationToken)
    {
        while (await _reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (WorkerProtocol.TryParse(line) is { } message)
            {
                return message;
            }
        }

        return null;
    }

    /// <summary>Sends one message.</summary>
    public void Send(WorkerMessage message)
    {
        string line = WorkerProtocol.Serialize(message);
        lock (_lock)
        {
            _writer.WriteLine(line);
        }
    }
}
