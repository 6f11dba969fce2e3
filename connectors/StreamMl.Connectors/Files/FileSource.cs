using System.Text.RegularExpressions;
using StreamMl.Connectors.Files.Internal;
using StreamMl.Connectors.Internal;
using StreamMl.Engine;

namespace StreamMl.Connectors.Files;

/// <summary>Reads CSV, JSON Lines and Parquet files (a file, a list, a glob or a folder, gzip allowed) into batches,
/// and with <see cref="FileSourceOptions.Watch"/> keeps picking up new files. Each file is a partition (its index in
/// <see cref="Files"/>); offsets are line numbers (CSV, JSON Lines) or row numbers (Parquet). A record that cannot be
/// read goes to the dead-letter sink with its file and line; a file that cannot be read at all (corrupt gzip or Parquet
/// footer) is dead-lettered as one record and the source goes on with the next file.</summary>
public sealed class FileSource : IBatchSource
{
    private readonly FileSourceOptions _options;
    private readonly List<string> _files;
    private readonly List<FileFormat> _formats;
    private readonly ReaderContext _context;
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long Length, DateTime Written)> _pending = new(StringComparer.Ordinal);
    private readonly Dictionary<int, long> _committed = [];
    // The end offset of every file read to the end (guarded by _commitGate): a file is done once committed up to it.
    private readonly Dictionary<int, long> _finalEnds = [];
    private readonly HashSet<int> _done = [];
    private readonly Dictionary<int, long> _seenEnds = [];
    private readonly object _commitGate = new();
    // Files followed as they grow (watch mode, plain CSV and JSON Lines), by partition; guarded by _commitGate.
    private readonly Dictionary<int, FollowedFile> _followed = [];
    private readonly Queue<int> _ready = new();
    private readonly List<CheckpointEntry> _checkpoint;
    private readonly ConnectorLog _log;
    private FileReader? _current;
    private FollowedFile? _currentFollowed;
    private long _currentLimit;
    private (int Length, string Hash)? _currentTail;
    private int _next;
    private long _filesDone;
    private long _filesFailed;
    private DateTime _lastPoll = DateTime.MinValue;
    private long _maxEventTime = long.MinValue;

    private FileSource(FileSourceOptions options, List<string> files, Schema schema, SchemaInference? inference, List<CheckpointEntry> checkpoint)
    {
        _options = options;
        // Files of the checkpoint keep their partition numbers; files seen for the first time come after them.
        _files = [.. checkpoint.Select(e => e.Path), .. files.Where(f => !checkpoint.Any(e => e.Path == f))];
        _formats = [.. _files.Select(FormatFor)];
        foreach (var file in _files) _known.Add(file);
        foreach (var entry in checkpoint)
        {
            _committed[entry.Partition] = entry.Committed;
            if (entry.Done) _done.Add(entry.Partition);
        }
        _checkpoint = checkpoint;
        _log = new ConnectorLog(options.LoggerFactory, "StreamMl.Connectors.Files", $"file source {options.Name}", Redaction.None);
        // Readers fill the file columns; the source-file column is stamped here after each fill.
        Schema = options.SourceFileColumn is { } sourceFile ? schema.Add(new Field(sourceFile, ColumnType.String, Nullable: false)) : schema;
        Inference = inference;
        _context = new ReaderContext(options, schema);
    }

    /// <summary>Resolves the inputs and settles the schema: the declared one, or one inferred from the first file's
    /// first rows (see <see cref="Inference"/>). Throws a <see cref="BadInputException"/> when nothing matches (unless
    /// watching) or when no schema can be inferred.</summary>
    public static FileSource Create(FileSourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Paths.Count == 0) throw new BadInputException("no input given: add a file, folder or glob to Paths", options.Name);
        var checkpoint = options.CheckpointPath is { } checkpointPath ? FileCheckpoint.Load(checkpointPath) : [];
        var files = FileResolver.Resolve(options.Paths, allowEmpty: options.Watch || checkpoint.Count > 0);
        files.RemoveAll(IsCheckpointOf(options)); // a checkpoint kept in an input folder is not data
        var schema = options.Schema;
        if (schema is { Count: 0 }) throw new BadInputException("the declared schema has no columns: declare at least one (name:type), or leave it out to infer one", options.Name);
        SchemaInference? inference = null;
        if (schema is null)
        {
            if (files.Count == 0)
                throw new BadInputException("watching an empty folder needs a declared schema (there is no file to infer one from)", string.Join(", ", options.Paths));
            inference = InferFromFirstUsable(options, files);
            schema = inference.Schema;
        }
        if (options.EventTimeColumn is { } eventTime) schema.Require(eventTime, ColumnType.Timestamp);
        if (options.SourceFileColumn is { } sourceFile && schema.Contains(sourceFile))
            throw new BadInputException($"the source-file column '{sourceFile}' is also a column of the files; choose another name for it", string.Join(", ", options.Paths));
        if (options.WatermarkDelay < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(options), "WatermarkDelay must not be negative");
        return new FileSource(options, files, schema, inference, checkpoint);
    }

    /// <summary>Infers the schema from the first file that has columns: an empty file, a header naming a column twice
    /// or an unreadable file is passed over here (it is dead-lettered when its turn to be read comes), so one bad file
    /// does not stop a folder. Throws when no file has columns, listing why for each.</summary>
    private static SchemaInference InferFromFirstUsable(FileSourceOptions options, List<string> files)
    {
        var reasons = new List<string>();
        foreach (var file in files)
        {
            var format = FormatFor(options, file);
            if (format == FileFormat.Parquet && !IsReadableParquet(file))
            {
                reasons.Add($"{file}: not a readable Parquet file");
                continue;
            }
            try
            {
                var inference = SchemaInferrer.Infer(file, format, options);
                if (inference.Columns.Count > 0 && !inference.Columns.All(c => string.IsNullOrWhiteSpace(c.Name)))
                    return SchemaInferrer.Extend(inference, files, f => FormatFor(options, f), options);
                reasons.Add($"{file}: {(format == FileFormat.Csv ? CsvFileReader.NoHeader(file) : "no column found in its first rows (the file is empty or has no JSON object)")}");
            }
            catch (Exception ex) when (ex is BadInputException or IOException or InvalidDataException or UnauthorizedAccessException)
            {
                reasons.Add($"{file}: {Message(ex)}");
            }
            if (reasons.Count >= 20) break; // enough to see the pattern
        }
        throw new BadInputException($"cannot infer a schema: no input file has columns to infer from; declare the schema (--schema) or fix the files: {string.Join("; ", reasons)}",
            string.Join(", ", options.Paths));
    }

    /// <inheritdoc/>
    public string Name => _options.Name;

    /// <inheritdoc/>
    public Schema Schema { get; }

    /// <summary>How the schema was inferred, or null when it was declared. Print it to show the user.</summary>
    public SchemaInference? Inference { get; }

    /// <summary>Differences between the files read so far and <see cref="Schema"/>, once per file and column: columns a
    /// file has that are not read, and schema columns a file lacks (null in its rows). Each is also logged as a warning
    /// (<see cref="FileSourceOptions.LoggerFactory"/>). Differences found while inferring are in <see cref="Inference"/>.</summary>
    public IReadOnlyList<SchemaChange> SchemaChanges => _context.SchemaChanges.Snapshot();

    /// <summary>Files known so far, in partition order (watching adds to the end).</summary>
    public IReadOnlyList<string> Files => _files;

    /// <summary>Records read: rows produced plus records dead-lettered here (a file that failed as a whole counts once).</summary>
    public long RecordsRead => Volatile.Read(ref _context.RecordsRead);

    /// <summary>Rows put into batches.</summary>
    public long RowsProduced => Volatile.Read(ref _context.RowsProduced);

    /// <summary>Records sent to the dead-letter sink by the source (unparseable rows and unreadable files).</summary>
    public long RecordsRejected => Volatile.Read(ref _context.RecordsRejected);

    /// <summary>CSV chunks parsed by <see cref="FileSourceOptions.CsvParseThreads"/> threads, and files handed to the
    /// source's thread part way (a record over several lines); for tests and benchmarks.</summary>
    internal (long Chunks, long Handovers, long WorkerAllocatedBytes) ParallelCsv =>
        (Volatile.Read(ref _context.ParallelChunks), Volatile.Read(ref _context.SequentialHandovers), Interlocked.Read(ref _context.WorkerAllocatedBytes));

    /// <summary>Files read to the end (including those that failed part way).</summary>
    public long FilesDone => Volatile.Read(ref _filesDone);

    /// <summary>Files that failed as a whole or part way (corrupt gzip, Parquet footer).</summary>
    public long FilesFailed => Volatile.Read(ref _filesFailed);

    /// <summary>The committed end offset of each partition (file index): every record before it is durable in all sinks.</summary>
    public IReadOnlyDictionary<int, long> CommittedOffsets
    {
        get
        {
            lock (_commitGate) return new Dictionary<int, long>(_committed);
        }
    }

    /// <inheritdoc/>
    public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken)
    {
        _context.DeadLetters = context.DeadLetters;
        _context.PipelineName = context.PipelineName;
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public async ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
    {
        var row = 0;
        var ingest = FieldParser.ToMicros(DateTimeOffset.UtcNow);
        while (row < batch.Capacity)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_current is null && !OpenNext())
            {
                if (!_options.Watch)
                {
                    batch.Length = row;
                    SetWatermark(batch);
                    return false;
                }
                if (row > 0) break;
                if (Poll()) continue;
                await Task.Delay(_options.WatchInterval, cancellationToken).ConfigureAwait(false);
                if (Poll()) continue;
                break;
            }
            var reader = _current!;
            var first = row;
            try
            {
                row = reader.Fill(batch, row, ingest);
            }
            catch (Exception ex) when (ex is BadInputException or IOException or InvalidDataException)
            {
                row = reader.Filled;
                StampSourceFile(batch, reader.Path, first, row);
                FailFile(reader, batch, ex);
                continue;
            }
            StampSourceFile(batch, reader.Path, first, row);
            if (reader.Exhausted)
            {
                if (_currentFollowed is { } followed) NotePieceEnd(followed, reader);
                else NoteEnd(reader, batch);
                CloseCurrent();
            }
        }
        batch.Length = row;
        SetWatermark(batch);
        NoteSeen(batch);
        return true;
    }

    /// <summary>Writes the file's path into the source-file column of rows <paramref name="from"/> to <paramref name="to"/>.</summary>
    private void StampSourceFile(ColumnBatch batch, string path, int from, int to)
    {
        if (_options.SourceFileColumn is not { } name || to <= from) return;
        var column = batch[name];
        var code = column.Dictionary!.GetOrAdd(path);
        column.Values<int>()[from..to].Fill(code);
    }

    /// <summary>With an event-time column, sets the batch's watermark to the newest valid event time read so far less
    /// the delay (rows without an event time are left out: they carry the time they were read).</summary>
    private void SetWatermark(ColumnBatch batch)
    {
        if (_options.EventTimeColumn is not { } name) return;
        var column = batch[name];
        var times = column.Values<long>()[..batch.Length];
        var max = _maxEventTime;
        for (var row = 0; row < times.Length; row++)
            if (times[row] > max && column.IsValid(row)) max = times[row];
        _maxEventTime = max;
        if (max != long.MinValue) batch.Watermark = max - _options.WatermarkDelay.Ticks / 10;
    }

    /// <summary>Remembers where a file read to the end stops, so that a commit reaching it marks the file done.</summary>
    private void NoteEnd(FileReader reader, ColumnBatch batch)
    {
        if (_options.CheckpointPath is null) return;
        var partition = reader.Partition;
        // Records an earlier run committed were passed over without a position: the file ends at least there. A file
        // without records (a header only) ends at 0 and is done at once.
        var end = Math.Max(_seenEnds.GetValueOrDefault(partition), reader.SkipBefore);
        foreach (var range in batch.Positions.Ranges)
            if (range.Partition == partition) end = Math.Max(end, range.End);
        lock (_commitGate)
        {
            _finalEnds[partition] = end;
            // The file's last batch may have been committed already, in which case no later commit would mark it done.
            if (MarkDoneFiles()) SaveCheckpoint();
        }
    }

    /// <summary>Keeps the furthest position of the current file seen in the batches so far.</summary>
    private void NoteSeen(ColumnBatch batch)
    {
        if (_options.CheckpointPath is null) return;
        foreach (var range in batch.Positions.Ranges)
            if (range.End > _seenEnds.GetValueOrDefault(range.Partition)) _seenEnds[range.Partition] = range.End;
    }

    private bool OpenNext()
    {
        while (true)
        {
            int partition;
            if (_next < _files.Count)
            {
                partition = _next++;
                if (IsDone(partition) && !ResumesAsFollowed(partition)) continue;
                if (IsFollowable(partition))
                {
                    if (StartFollowing(partition)) return true;
                    continue;
                }
            }
            else if (_ready.TryDequeue(out partition))
            {
                if (OpenPiece(partition)) return true;
                continue;
            }
            else
            {
                return false;
            }
            var path = _files[partition];
            try
            {
                _current = _formats[partition] switch
                {
                    FileFormat.Csv => OpenCsv(path, partition),
                    FileFormat.JsonLines => new JsonLinesFileReader(path, partition, _context),
                    FileFormat.Parquet => new ParquetFileReader(path, partition, _context),
                    _ => throw new BadInputException("unknown file format", path),
                };
                lock (_commitGate) _current.SkipBefore = _committed.GetValueOrDefault(partition);
                return true;
            }
            catch (Exception ex) when (ex is BadInputException or IOException or InvalidDataException or UnauthorizedAccessException)
            {
                _context.Reject("file", Message(ex), path, "byte", partition, 0, "");
                Interlocked.Increment(ref _filesFailed);
                Interlocked.Increment(ref _filesDone);
            }
        }
    }

    /// <summary>A CSV file read to its end: by <see cref="FileSourceOptions.CsvParseThreads"/> threads when it is plain and
    /// large enough, else on this thread.</summary>
    private FileReader OpenCsv(string path, int partition)
    {
        var threads = _options.CsvParseThreads;
        if (threads > 1 && !InputStreams.IsGzip(path) && new FileInfo(path).Length >= _options.ParallelCsvMinBytes)
            return new ParallelCsvFileReader(path, partition, _context, threads);
        return _options.CsvFromBytes && !InputStreams.IsGzip(path) ? ByteCsvFileReader.Open(path, partition, _context) : new CsvFileReader(path, partition, _context);
    }

    /// <summary>True for a file an earlier run without <c>--watch</c> read to the end: watching follows it from the line
    /// after its last committed one.</summary>
    private bool ResumesAsFollowed(int partition)
    {
        if (partition >= _checkpoint.Count || _checkpoint[partition].PrintHash is not null || !IsFollowable(partition)) return false;
        lock (_commitGate) _done.Remove(partition);
        return true;
    }

    /// <summary>True when the partition is followed as it grows: watch mode, a plain (not gzip) CSV or JSON Lines file.
    /// Gzip and Parquet files cannot be read in pieces and are read whole once they stop changing.</summary>
    private bool IsFollowable(int partition)
    {
        if (!_options.Watch || _formats[partition] == FileFormat.Parquet) return false;
        try
        {
            return !InputStreams.IsGzip(_files[partition]);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Starts following a file: from its checkpoint (when an earlier run followed it and it is still the same
    /// file, found by its fingerprint even under a new name) or from its start. True when a piece was opened.</summary>
    private bool StartFollowing(int partition)
    {
        var path = _files[partition];
        var entry = partition < _checkpoint.Count ? _checkpoint[partition] : null;
        FollowedFile followed;
        if (entry is { PrintHash: { } hash })
        {
            followed = new FollowedFile(path, entry.PrintLength, hash)
            {
                ReadByte = entry.ResumeByte, ReadLine = entry.ResumeLine, ResumeByte = entry.ResumeByte, ResumeLine = entry.ResumeLine,
            };
            lock (_commitGate) _followed[partition] = followed;
            if (!CheckIdentity(partition, followed)) return false;
        }
        else
        {
            try
            {
                // A file without a whole line yet gets a short (even empty) fingerprint, lengthened as it grows.
                var (length, print) = FileIdentity.Of(path);
                followed = new FollowedFile(path, length, print);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _context.Reject("file", ex.Message, path, "byte", partition, 0, "");
                Interlocked.Increment(ref _filesFailed);
                return false;
            }
            lock (_commitGate) _followed[partition] = followed;
        }
        return OpenPiece(partition);
    }

    /// <summary>Opens the whole lines of a followed file after where it was last read. False when there are none.</summary>
    private bool OpenPiece(int partition)
    {
        FollowedFile followed;
        lock (_commitGate) followed = _followed[partition];
        followed.Queued = false;
        if (followed.Stopped) return false;
        var path = followed.Path;
        try
        {
            // Pieces of at most FollowPieceBytes (ending on a line break), so that a large followed file gets byte checkpoints
            // along the way instead of one at its end; a single longer line is read in one piece.
            var limit = FileIdentity.CompleteLinesEnd(path, followed.ReadByte, followed.ReadByte + _options.FollowPieceBytes);
            if (limit <= followed.ReadByte) limit = FileIdentity.CompleteLinesEnd(path, followed.ReadByte, long.MaxValue);
            if (limit <= followed.ReadByte) return false;
            var range = new ReadRange(followed.ReadByte, followed.ReadLine, limit);
            _current = _formats[partition] == FileFormat.Csv
                ? new CsvFileReader(path, partition, _context, range)
                : new JsonLinesFileReader(path, partition, _context, range);
            // The limit, the reader's handles and the piece's tail all come from the path. A rotation in between would
            // have them read the new file at the old file's offsets (and lose the old file's last rows), so the path must
            // still hold the followed file, whole up to the limit, after all three; if not, the next poll finds where it went.
            if (!HoldsFollowedFile(followed, path, limit, out var tail))
            {
                _current.Dispose();
                _current = null;
                followed.LastSeen = (-1, DateTime.MinValue);
                return false;
            }
            lock (_commitGate) _current.SkipBefore = _committed.GetValueOrDefault(partition);
            _currentFollowed = followed;
            _currentLimit = limit;
            _currentTail = tail;
            return true;
        }
        catch (Exception ex) when (ex is BadInputException or IOException or InvalidDataException or UnauthorizedAccessException)
        {
            _context.Reject("file", Message(ex), path, "byte", partition, followed.ReadByte, "");
            Interlocked.Increment(ref _filesFailed);
            StopFollowing(partition, followed);
            return false;
        }
    }

    /// <summary>Whether <paramref name="path"/> still holds <paramref name="followed"/> (its first bytes, and its bytes just
    /// before where it was read to) and has whole lines up to <paramref name="limit"/>; <paramref name="tail"/> is the
    /// fingerprint of the bytes just before the limit, taken first.</summary>
    private static bool HoldsFollowedFile(FollowedFile followed, string path, long limit, out (int Length, string Hash)? tail)
    {
        tail = null;
        try
        {
            tail = FileIdentity.TailOf(path, limit);
            return followed.IsSameAs(path) && new FileInfo(path).Length >= limit;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>A piece of a followed file was read to its limit: the next one starts there. The (line, byte) pair lets
    /// a later commit of that line be saved as a byte offset to resume from.</summary>
    private void NotePieceEnd(FollowedFile followed, FileReader reader)
    {
        // The tail was taken when the piece was opened, from the file it was read from (the path may hold another file now).
        lock (_commitGate)
        {
            followed.ReadByte = _currentLimit;
            followed.Tail = _currentTail;
            followed.ReadLine = Math.Max(reader.NextLine, followed.ReadLine);
            followed.Ends.Add((followed.ReadLine, followed.ReadByte));
        }
        // More whole lines after this piece (a piece is capped at FollowPieceBytes): read on without waiting for a poll.
        if (!followed.Queued && FileIdentity.CompleteLinesEnd(followed.Path, followed.ReadByte, long.MaxValue) > followed.ReadByte)
        {
            followed.Queued = true;
            _ready.Enqueue(reader.Partition);
        }
        if (!followed.CaughtUp)
        {
            followed.CaughtUp = true;
            Interlocked.Increment(ref _filesDone);
        }
    }

    /// <summary>Checks that a followed file is still the file it was (same first bytes, not shorter than what was
    /// read). A file renamed away (rotation) is followed under its new name; a file that shrank was truncated and is
    /// read again from the start as a new file; one that is gone is no longer followed. False when it stopped.</summary>
    private bool CheckIdentity(int partition, FollowedFile followed)
    {
        var path = followed.Path;
        if (!followed.IsSameAs(path))
        {
            var moved = FindMoved(followed);
            if (moved is null)
            {
                var exists = File.Exists(path);
                var size = exists ? new FileInfo(path).Length : 0;
                _log.Warning(!exists
                    ? $"{path} was rotated away or deleted after {followed.ReadByte:N0} bytes (line {followed.ReadLine:N0}) and its content is not " +
                      "found under another name in the folder: it is no longer followed"
                    : size < followed.ReadByte
                        ? $"{path} was truncated (its size fell from {followed.ReadByte:N0} to {size:N0} bytes and its content changed): " +
                          "it is read again from the start, as a new file"
                        : $"{path} was replaced (its content changed) and the old file is not found under another name: the new file is read from its start");
                StopFollowing(partition, followed);
                if (exists) AddFile(path);
                return false;
            }
            _log.Info($"{path} was rotated to {moved}: reading the rest of it there from byte {followed.ReadByte:N0}");
            lock (_commitGate)
            {
                followed.Path = moved;
                _files[partition] = moved;
            }
            _known.Add(moved);
            // The old name is free: a file there now or later is a new file.
            _known.Remove(path);
            if (File.Exists(path)) AddFile(path);
            path = moved;
        }
        long length;
        try
        {
            length = new FileInfo(path).Length;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return true; // tried again at the next poll
        }
        if (length < followed.ReadByte)
        {
            _log.Warning($"{path} was truncated (its size fell from {followed.ReadByte:N0} to {length:N0} bytes): it is read again from the start, as a new file");
            StopFollowing(partition, followed);
            AddFile(path);
            return false;
        }
        if (followed.PrintLength < FileIdentity.MaxLength && length > followed.PrintLength)
        {
            var (printLength, print) = FileIdentity.Of(path);
            lock (_commitGate)
            {
                followed.PrintLength = printLength;
                followed.PrintHash = print;
            }
        }
        return true;
    }

    /// <summary>The file in the same folder whose first bytes are the followed file's, other than its own path and the
    /// files followed under their names: where a rotation renamed it.</summary>
    private string? FindMoved(FollowedFile followed)
    {
        var folder = System.IO.Path.GetDirectoryName(followed.Path);
        if (folder is null || !Directory.Exists(folder)) return null;
        HashSet<string> taken;
        lock (_commitGate) taken = [.. _followed.Values.Where(f => !f.Stopped).Select(f => f.Path)];
        foreach (var file in Directory.EnumerateFiles(folder).Select(System.IO.Path.GetFullPath).Order(StringComparer.Ordinal))
        {
            if (taken.Contains(file)) continue;
            try
            {
                if (new FileInfo(file).Length >= followed.ReadByte && followed.IsSameAs(file)) return file;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
        return null;
    }

    private void StopFollowing(int partition, FollowedFile followed)
    {
        lock (_commitGate)
        {
            followed.Stopped = true;
            _done.Add(partition);
            SaveCheckpoint();
        }
        _known.Remove(followed.Path);
    }

    /// <summary>Adds a file as a new partition (a new file under a known name: rotation or truncation).</summary>
    private void AddFile(string path)
    {
        _known.Add(path);
        lock (_commitGate)
        {
            _files.Add(path);
            _formats.Add(FormatFor(path));
        }
    }

    /// <summary>Checks the followed files for growth, rotation and truncation; queues those with new whole lines.</summary>
    private bool PollFollowed()
    {
        var queued = false;
        List<(int Partition, FollowedFile File)> followed;
        lock (_commitGate) followed = [.. _followed.Where(f => !f.Value.Stopped && !f.Value.Queued).Select(f => (f.Key, f.Value))];
        foreach (var (partition, file) in followed)
        {
            if (ReferenceEquals(file, _currentFollowed)) continue;
            // A file whose size and write time did not change since the last poll has neither grown nor been replaced:
            // a stat, not a read of its first bytes, per file and poll.
            FileInfo info;
            try
            {
                info = new FileInfo(file.Path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            var seen = info.Exists ? (info.Length, info.LastWriteTimeUtc) : (-1, DateTime.MinValue);
            if (seen == file.LastSeen) continue;
            file.LastSeen = seen;
            if (!CheckIdentity(partition, file)) continue;
            try
            {
                if (new FileInfo(file.Path).Length <= file.ReadByte || FileIdentity.CompleteLinesEnd(file.Path, file.ReadByte, long.MaxValue) <= file.ReadByte) continue;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            file.Queued = true;
            _ready.Enqueue(partition);
            queued = true;
        }
        return queued;
    }

    private void FailFile(FileReader reader, ColumnBatch batch, Exception ex)
    {
        var offset = reader.CurrentOffset;
        batch.Positions.Add(reader.Partition, offset, offset + 1);
        if (_currentFollowed is { } followed) StopFollowing(reader.Partition, followed);
        else NoteEnd(reader, batch);
        var near = offset > 0 ? $" (the last good {reader.OffsetUnit} was near {offset})" : "";
        _context.Reject("file", Message(ex) + near, reader.Path, reader.OffsetUnit, reader.Partition, offset, "");
        Interlocked.Increment(ref _filesFailed);
        CloseCurrent();
    }

    private static string Message(Exception ex) => ex is BadInputException bad ? bad.Message.Replace(bad.Location + ": ", "", StringComparison.Ordinal) : ex.Message;

    private void CloseCurrent()
    {
        _current?.Dispose();
        _current = null;
        if (_currentFollowed is null) Interlocked.Increment(ref _filesDone);
        _currentFollowed = null;
    }

    /// <summary>Looks for new files and for growth, rotation and truncation of followed ones, at most once per half
    /// <see cref="FileSourceOptions.WatchInterval"/>. True when there is something new to read.</summary>
    private bool Poll()
    {
        if (DateTime.UtcNow - _lastPoll < _options.WatchInterval / 2) return false;
        _lastPoll = DateTime.UtcNow;
        // Followed files first: a rotated file is found under its new name before the folder listing could take that
        // name for a new file and read it again from its start.
        var queued = PollFollowed();
        return PollFolders() | queued;
    }

    /// <summary>Lists the watched folders; new CSV and JSON Lines files are added at once (they are followed, whole lines
    /// only), other files once they stopped changing since the last poll. True when one was.</summary>
    private bool PollFolders()
    {
        var added = false;
        foreach (var input in _options.Paths)
        {
            var (folder, pattern) = FileResolver.WatchTarget(input);
            if (!Directory.Exists(folder)) continue;
            foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var full = Path.GetFullPath(file);
                if (_known.Contains(full) || !IsWatchCandidate(folder, file, pattern) || IsCheckpointOf(_options)(full)) continue;
                var info = new FileInfo(full);
                var state = (info.Length, info.LastWriteTimeUtc);
                if ((FormatFor(full) != FileFormat.Parquet && !IsGzipFile(full)) || (_pending.TryGetValue(full, out var previous) && previous == state))
                {
                    _pending.Remove(full);
                    _known.Add(full);
                    lock (_commitGate)
                    {
                        _files.Add(full); // read by Commit on the checkpoint thread
                        _formats.Add(FormatFor(full));
                    }
                    added = true;
                }
                else
                {
                    _pending[full] = state;
                }
            }
        }
        return added;
    }

    private static bool IsGzipFile(string path)
    {
        try
        {
            return InputStreams.IsGzip(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return true; // not readable now: treated as a whole file, added once it is stable
        }
    }

    private static bool IsWatchCandidate(string folder, string file, Regex pattern)
    {
        var name = Path.GetFileName(file);
        // Temporary and hidden files are being written by someone: wait for their final name.
        if (name.StartsWith('.') || name.EndsWith(".tmp", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".part", StringComparison.OrdinalIgnoreCase))
            return false;
        return pattern.IsMatch(Path.GetRelativePath(folder, file).Replace('\\', '/')) && FileResolver.IsKnownFormat(file);
    }

    private static Predicate<string> IsCheckpointOf(FileSourceOptions options) =>
        options.CheckpointPath is { } checkpoint ? file => file == Path.GetFullPath(checkpoint) : _ => false;

    private FileFormat FormatFor(string path) => FormatFor(_options, path);

    private static FileFormat FormatFor(FileSourceOptions options, string path) =>
        options.Format != FileFormat.Auto ? options.Format
            : FileResolver.FormatOf(path) ?? throw new BadInputException("cannot tell the format from the file name: set Format", path);

    private static bool IsReadableParquet(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            var reader = global::Parquet.ParquetReader.CreateAsync(stream).GetAwaiter().GetResult();
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return false;
        }
    }

    /// <summary>Commits the ranges, and with <see cref="FileSourceOptions.CheckpointPath"/> replaces the checkpoint file
    /// before returning, so a position is durable once the pipeline counts it committed.</summary>
    public void Commit(ReadOnlySpan<SourceRange> ranges)
    {
        lock (_commitGate)
        {
            foreach (var range in ranges)
                if (!_committed.TryGetValue(range.Partition, out var end) || range.End > end) _committed[range.Partition] = range.End;
            foreach (var range in ranges)
                if (_followed.TryGetValue(range.Partition, out var followed)) followed.Commit(_committed[range.Partition]);
            MarkDoneFiles();
            SaveCheckpoint();
        }
    }

    /// <summary>Marks the files read to the end whose every record is committed; true when one was. Holds _commitGate.</summary>
    private bool MarkDoneFiles()
    {
        var marked = false;
        foreach (var (partition, finalEnd) in _finalEnds)
            if (_committed.GetValueOrDefault(partition) >= finalEnd) marked |= _done.Add(partition);
        return marked;
    }

    /// <summary>Replaces the checkpoint file. Holds _commitGate.</summary>
    private void SaveCheckpoint()
    {
        if (_options.CheckpointPath is not { } path) return;
        FileCheckpoint.Save(path, Enumerable.Range(0, _files.Count).Select(p => _followed.TryGetValue(p, out var f)
            ? new CheckpointEntry(p, _files[p], _committed.GetValueOrDefault(p), _done.Contains(p), f.ResumeByte, f.ResumeLine, f.PrintLength, f.PrintHash)
            : new CheckpointEntry(p, _files[p], _committed.GetValueOrDefault(p), _done.Contains(p))));
    }

    /// <summary>True when the file was read to the end and every record of it is committed (this run or an earlier one).</summary>
    private bool IsDone(int partition)
    {
        lock (_commitGate) return _done.Contains(partition);
    }

    /// <summary>Whether a position (file number and line or row) names the same record in every run: only with a
    /// checkpoint, which keeps each file's number and identity. Without one a file's number is its place in the folder's
    /// order, which a file added between runs shifts, and a file may be regenerated under the same name
    /// (FolderRerunTests), so a rerun must not skip what earlier output holds: it is at least once.</summary>
    public bool PositionsAreStable => _options.CheckpointPath is not null;

    /// <inheritdoc/>
    public string Describe(int partition, long offset)
    {
        var path = partition >= 0 && partition < _files.Count ? _files[partition] : $"file #{partition}";
        var unit = partition >= 0 && partition < _formats.Count && _formats[partition] == FileFormat.Parquet ? "row" : "line";
        return $"{path} {unit} {offset}";
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        _current?.Dispose();
        _current = null;
        return ValueTask.CompletedTask;
    }
}
