using StreamMl.Engine;

namespace StreamMl.Connectors.Files.Internal;

/// <summary>Reads a plain CSV file with several threads: a splitter cuts the records after the header into chunks of at
/// most a batch's worth of lines (<see cref="CsvChunkSplitter"/>), <c>workers</c> threads parse chunk
/// <c>n</c> when <c>n mod workers</c> is theirs into a batch of their own (<see cref="CsvChunkParser"/>), and
/// <see cref="Fill"/>, on the source's thread, copies the parsed rows into the pipeline's batch in file order, with
/// their line numbers, source positions and dead letters exactly as <see cref="CsvFileReader"/> gives them. From the
/// first chunk whose lines are not one record each (a quoted field over several lines, a quote never closed, a lone
/// carriage return) the rest of the file is read by a <see cref="CsvFileReader"/> from that chunk's first byte and line.
/// The header is read, checked and mapped by a <see cref="CsvFileReader"/> too, so a bad header fails the same way.</summary>
internal sealed class ParallelCsvFileReader : FileReader
{
    private readonly int _workers;
    private readonly long _dataStart;
    private readonly object _gate = new();
    private CsvFileReader? _sequential;
    private bool _sequentialOnly;
    private CsvChunk[] _chunks = [];
    private Thread[] _threads = [];
    private long _splitEnd = long.MaxValue; // the first sequence the splitter will not cut; guarded by _gate
    private bool _stopping;
    private long _next; // the next chunk to publish
    private long _line;
    private int[] _stringMap = [];

    /// <summary>Reads the header (throwing as <see cref="CsvFileReader"/> does for a bad one) and finds where the records
    /// start; a file that cannot be cut is read sequentially.</summary>
    public ParallelCsvFileReader(string path, int partition, ReaderContext context, int workers) : base(path, partition, context)
    {
        _workers = workers;
        _sequential = new CsvFileReader(path, partition, context);
        try
        {
            _dataStart = CsvChunkSplitter.DataStart(path);
        }
        catch
        {
            _sequential.Dispose();
            throw;
        }
        _sequentialOnly = _dataStart < 0;
        NextLine = 2;
    }

    public override string OffsetUnit => "line";

    public override long CurrentOffset => _sequentialOnly ? _sequential!.CurrentOffset : _line;

    public override int Fill(ColumnBatch batch, int row, long ingestMicros)
    {
        if (_sequentialOnly) return FillSequential(batch, row, ingestMicros);
        if (_threads.Length == 0) Start(batch.Capacity);
        Filled = row;
        while (row < batch.Capacity)
        {
            var chunk = WaitForNext();
            switch (chunk.Kind)
            {
                case CsvChunkKind.End:
                    Exhausted = true;
                    return row;
                case CsvChunkKind.Error:
                    throw chunk.Error!;
                case CsvChunkKind.Sequential:
                    SwitchToSequential(chunk);
                    return FillSequential(batch, row, ingestMicros);
            }
            if (_sequential is not null)
            {
                // The header reader is needed only when the first chunk hands over to sequential reading.
                _sequential.Dispose();
                _sequential = null;
            }
            row = Publish(chunk, batch, row, ingestMicros);
            Filled = row;
            if (chunk.Taken == chunk.Rows && chunk.RejectsPublished == chunk.Rejects.Count)
            {
                Release(chunk);
                Context.ParallelChunks++;
            }
        }
        return row;
    }

    /// <summary>Copies the chunk's next rows into <paramref name="batch"/> from row <paramref name="row"/>, with the
    /// positions of the lines they cover (blank and rejected lines included) and the dead letters of those lines.</summary>
    private int Publish(CsvChunk chunk, ColumnBatch batch, int row, long ingestMicros)
    {
        var count = Math.Min(chunk.Rows - chunk.Taken, batch.Capacity - row);
        var offsets = chunk.Batch.RowOffsetsBuffer;
        var first = chunk.Taken;
        var last = first + count;
        var firstLine = Math.Max(chunk.StartLine, SkipBefore);
        var from = first == 0 ? firstLine : offsets[first - 1] + 1;
        var to = last == chunk.Rows ? chunk.EndLine : offsets[last - 1] + 1;
        var context = Context;
        var rejects = chunk.Rejects;
        while (chunk.RejectsPublished < rejects.Count && rejects[chunk.RejectsPublished].Line < to)
        {
            var reject = rejects[chunk.RejectsPublished++];
            context.Reject(reject.Rule, reject.Message, Path, OffsetUnit, Partition, reject.Line, reject.Raw);
        }
        if (count > 0) CopyRows(chunk.Batch, first, batch, row, count, ingestMicros);
        if (to > from) batch.Positions.Add(Partition, from, to);
        chunk.Taken = last;
        _line = count > 0 ? offsets[last - 1] : Math.Max(_line, to - 1);
        NextLine = Math.Max(NextLine, to);
        return row + count;
    }

    private void CopyRows(ColumnBatch source, int first, ColumnBatch batch, int row, int count, long ingestMicros)
    {
        var context = Context;
        var targets = context.Targets(batch);
        for (var f = 0; f < targets.Length; f++)
        {
            var from = source[f];
            var to = batch[targets[f]];
            if (from.Type == ColumnType.String)
            {
                CopyStrings(from, first, to, row, count);
                continue;
            }
            var size = ColumnTypes.SizeOf(from.Type);
            from.RawValues.Slice(first * size, count * size).CopyTo(to.RawValues[(row * size)..]);
            if (from.MayHaveNulls)
            {
                for (var i = 0; i < count; i++)
                    if (from.IsValid(first + i)) to.SetValid(row + i); else to.SetNull(row + i);
            }
            else if (to.MayHaveNulls)
            {
                for (var i = 0; i < count; i++) to.SetValid(row + i);
            }
        }
        source.RowOffsetsBuffer.Slice(first, count).CopyTo(batch.RowOffsetsBuffer[row..]);
        batch.RowPartitionsBuffer.Slice(row, count).Fill(Partition);
        var times = batch.EventTimesBuffer.Slice(row, count);
        if (context.EventTimeField >= 0)
        {
            var column = batch[targets[context.EventTimeField]];
            var values = column.Values<long>();
            for (var i = 0; i < count; i++) times[i] = column.IsValid(row + i) ? values[row + i] : ingestMicros;
        }
        else
        {
            times.Fill(ingestMicros);
        }
        context.RecordsRead += count;
        context.RowsProduced += count;
    }

    /// <summary>Copies string rows, turning the worker batch's codes into codes of the target batch's dictionary.</summary>
    private void CopyStrings(Column from, int first, Column to, int row, int count)
    {
        var dictionary = from.Dictionary!;
        if (_stringMap.Length < dictionary.Count) _stringMap = new int[Math.Max(dictionary.Count, _stringMap.Length * 2)];
        _stringMap.AsSpan(0, dictionary.Count).Fill(-1);
        var codes = from.Values<int>();
        var target = to.Values<int>();
        for (var i = 0; i < count; i++)
        {
            if (!from.IsValid(first + i))
            {
                to.SetNull(row + i);
                continue;
            }
            var code = codes[first + i];
            var mapped = _stringMap[code];
            if (mapped < 0) mapped = _stringMap[code] = to.Dictionary!.GetOrAdd(dictionary[code]);
            target[row + i] = mapped;
            if (to.MayHaveNulls) to.SetValid(row + i);
        }
    }

    private int FillSequential(ColumnBatch batch, int row, long ingestMicros)
    {
        var reader = _sequential!;
        reader.SkipBefore = SkipBefore;
        try
        {
            row = reader.Fill(batch, row, ingestMicros);
        }
        finally
        {
            Filled = reader.Filled;
            Exhausted = reader.Exhausted;
            NextLine = reader.NextLine;
        }
        return row;
    }

    /// <summary>Hands the rest of the file, from the chunk's first byte and line, to a sequential reader.</summary>
    private void SwitchToSequential(CsvChunk chunk)
    {
        var start = chunk.StartByte;
        var line = chunk.StartLine;
        var first = chunk.Sequence == 0;
        Release(chunk);
        Stop();
        if (!first || _sequential is null)
        {
            _sequential?.Dispose();
            _sequential = new CsvFileReader(Path, Partition, Context, new ReadRange(start, line, long.MaxValue));
        }
        _sequentialOnly = true;
        Context.SequentialHandovers++;
    }

    private void Start(int capacity)
    {
        var header = _sequential!;
        _chunks = new CsvChunk[2 * _workers + 2];
        for (var i = 0; i < _chunks.Length; i++) _chunks[i] = new CsvChunk(Context.Schema, capacity);
        var skipBefore = SkipBefore;
        var splitter = new CsvChunkSplitter(Path, _dataStart, 2, capacity);
        _threads = new Thread[_workers + 1];
        _threads[0] = new Thread(() => Split(splitter)) { IsBackground = true, Name = "csv-split" };
        for (var w = 0; w < _workers; w++)
        {
            var parser = new CsvChunkParser(Context, header.Separator, header.HeaderCount, header.FieldToColumn);
            var worker = w;
            _threads[w + 1] = new Thread(() => Parse(parser, worker, skipBefore)) { IsBackground = true, Name = $"csv-parse-{w}" };
        }
        foreach (var thread in _threads) thread.Start();
    }

    /// <summary>The splitter's loop: cuts chunk after chunk into free slots until the end, a hand-over or an error.</summary>
    private void Split(CsvChunkSplitter splitter)
    {
        using var _ = splitter;
        for (var sequence = 0L; ; sequence++)
        {
            var chunk = _chunks[sequence % _chunks.Length];
            lock (_gate)
            {
                while (chunk.State != CsvChunkState.Free && !_stopping) Monitor.Wait(_gate);
                if (_stopping) return;
            }
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                splitter.Cut(chunk);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                chunk.Kind = CsvChunkKind.Error;
                chunk.Error = ex;
            }
            Interlocked.Add(ref Context.WorkerAllocatedBytes, GC.GetAllocatedBytesForCurrentThread() - allocated);
            lock (_gate)
            {
                chunk.Sequence = sequence;
                chunk.State = CsvChunkState.Cut;
                if (chunk.Kind != CsvChunkKind.Lines) _splitEnd = sequence;
                Monitor.PulseAll(_gate);
                if (chunk.Kind != CsvChunkKind.Lines) return;
            }
        }
    }

    /// <summary>A worker's loop: parses the chunks whose sequence is <paramref name="worker"/> modulo the workers.</summary>
    private void Parse(CsvChunkParser parser, int worker, long skipBefore)
    {
        for (long sequence = worker; ; sequence += _workers)
        {
            var chunk = _chunks[sequence % _chunks.Length];
            lock (_gate)
            {
                while (!_stopping && sequence < _splitEnd && (chunk.Sequence != sequence || chunk.State != CsvChunkState.Cut)) Monitor.Wait(_gate);
                if (_stopping || sequence >= _splitEnd) return;
            }
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                parser.Parse(chunk, skipBefore);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                chunk.Kind = CsvChunkKind.Error;
                chunk.Error = ex;
            }
            Interlocked.Add(ref Context.WorkerAllocatedBytes, GC.GetAllocatedBytesForCurrentThread() - allocated);
            lock (_gate)
            {
                chunk.State = CsvChunkState.Parsed;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>Waits until the next chunk in file order is parsed (or is the end, a hand-over or an error).</summary>
    private CsvChunk WaitForNext()
    {
        var chunk = _chunks[_next % _chunks.Length];
        lock (_gate)
        {
            while (chunk.Sequence != _next || chunk.State == CsvChunkState.Free
                   || (chunk.State == CsvChunkState.Cut && chunk.Kind == CsvChunkKind.Lines))
                Monitor.Wait(_gate);
        }
        return chunk;
    }

    private void Release(CsvChunk chunk)
    {
        lock (_gate)
        {
            chunk.Sequence = -1;
            chunk.State = CsvChunkState.Free;
            Monitor.PulseAll(_gate);
        }
        _next++;
    }

    private void Stop()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
        foreach (var thread in _threads) thread.Join();
        foreach (var chunk in _chunks) chunk.Dispose();
        _chunks = [];
    }

    public override void Dispose()
    {
        if (_threads.Length > 0 && _chunks.Length > 0) Stop();
        _sequential?.Dispose();
        _sequential = null;
    }
}
