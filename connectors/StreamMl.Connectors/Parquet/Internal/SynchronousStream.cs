namespace StreamMl.Connectors.Parquet.Internal;

/// <summary>Passes every call to a file stream synchronously, the asynchronous ones included. Parquet.Net only has
/// asynchronous writes, and a synchronous <see cref="FileStream"/> runs those on the thread pool; the sink waits for
/// them (it runs on a pipeline thread, or on a pool thread while the pipeline closes), so each row group cost pool
/// handoffs and, when the pool was busy, waits of hundreds of milliseconds until it grew (seen in the file benchmark).
/// The data is in memory by then: writing it on the calling thread is the fast path.</summary>
internal sealed class SynchronousStream(FileStream inner) : Stream
{
    public FileStream Inner => inner;
    public override bool CanRead => inner.CanRead;
    public override bool CanSeek => inner.CanSeek;
    public override bool CanWrite => inner.CanWrite;
    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => inner.Position = value;
    }

    public override void Flush() => inner.Flush();
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override int Read(Span<byte> buffer) => inner.Read(buffer);
    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
    public override void SetLength(long value) => inner.SetLength(value);
    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        inner.Flush();
        return Task.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        inner.Write(buffer, offset, count);
        return Task.CompletedTask;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        inner.Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(inner.Read(buffer, offset, count));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(inner.Read(buffer.Span));

    // The file stream belongs to the caller, which flushes it to disk and disposes it.
    protected override void Dispose(bool disposing) => base.Dispose(disposing);
}
