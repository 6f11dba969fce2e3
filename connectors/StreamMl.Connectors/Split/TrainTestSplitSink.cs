using StreamMl.Connectors.Parquet;
using StreamMl.Connectors.Parquet.Internal;
using StreamMl.Engine;

namespace StreamMl.Connectors.Split;

/// <summary>Writes each selected row to a train or a test Parquet dataset, at random or stratified by a column, with a
/// seed. The decision for a row never changes the batch (other sinks see the same rows).</summary>
public sealed class TrainTestSplitSink : IBatchSink
{
    private readonly TrainTestSplitOptions _options;
    private readonly Dictionary<string, Stratum> _stringStrata = new(StringComparer.Ordinal);
    private readonly Dictionary<long, Stratum> _numberStrata = [];
    private PartitionedWriter? _train;
    private PartitionedWriter? _test;
    private SinkContext? _context;
    private byte[] _trainMask = new byte[ColumnBatch.DefaultCapacity];
    private byte[] _testMask = new byte[ColumnBatch.DefaultCapacity];
    private int _stratifyColumn = -1;
    private long _markedDurable = -1;

    /// <summary>Creates the split writer.</summary>
    public TrainTestSplitSink(TrainTestSplitOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        if (options.TestFraction is < 0 or > 1 || double.IsNaN(options.TestFraction))
            throw new PipelineException($"TestFraction must be between 0 and 1, got {options.TestFraction}");
    }

    /// <inheritdoc/>
    public string Name => _options.Name;

    /// <summary>False: rows are durable once both splits published their files.</summary>
    public bool DurableOnWrite => false;

    /// <summary>Rows written to the train split.</summary>
    public long TrainRows => _train?.RowsWritten ?? 0;

    /// <summary>Rows written to the test split.</summary>
    public long TestRows => _test?.RowsWritten ?? 0;

    /// <summary>Rows not written again because a restart re-read them and they were already in a published file.</summary>
    public long RowsAlreadyWritten => (_train?.RowsAlreadyWritten ?? 0) + (_test?.RowsAlreadyWritten ?? 0);

    /// <summary>Files published, both splits.</summary>
    public IEnumerable<string> PublishedFiles => (_train?.Published ?? []).Concat(_test?.Published ?? []);

    /// <inheritdoc/>
    public ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken)
    {
        _context = context;
        var stable = context.Source?.PositionsAreStable ?? true;
        var train = With(Path.Combine(_options.Directory, "train"));
        var test = With(Path.Combine(_options.Directory, "test"));
        // A stratified side depends on the rows seen before in this run, so a restart from the commit may side a replayed
        // row differently: it is skipped when either side published it (the rule per folder lost rows train had
        // skipped while test had not yet published them; SplitReplayTests).
        var shared = stable && _options.StratifyBy is not null ? PublishedRows.Load([train.Directory, test.Directory], train.FilePrefix) : null;
        _train = new PartitionedWriter(train, context.Schema, stable, shared);
        _test = new PartitionedWriter(test, context.Schema, stable, shared);
        if (_options.StratifyBy is { } column) _stratifyColumn = context.Schema.Require(column);
        return ValueTask.CompletedTask;
    }

    private ParquetSinkOptions With(string directory)
    {
        var source = _options.Parquet;
        var copy = new ParquetSinkOptions
        {
            Directory = directory,
            FilePrefix = source.FilePrefix,
            RowGroupRows = source.RowGroupRows,
            Compression = source.Compression,
            RollRows = source.RollRows,
            RollBytes = source.RollBytes,
            RollInterval = source.RollInterval,
            PublishOnFlush = source.PublishOnFlush,
            PartitionBy = source.PartitionBy,
            PartitionByEventDate = source.PartitionByEventDate,
            PartitionDateColumn = source.PartitionDateColumn,
            Name = source.Name,
        };
        foreach (var c in source.Columns) copy.Columns.Add(c);
        foreach (var c in source.ExcludeColumns) copy.ExcludeColumns.Add(c);
        return copy;
    }

    /// <inheritdoc/>
    public void Write(ColumnBatch batch, long sequence)
    {
        if (_trainMask.Length < batch.Length)
        {
            _trainMask = new byte[batch.Capacity];
            _testMask = new byte[batch.Capacity];
        }
        var fraction = _options.TestFraction;
        var offsets = batch.RowOffsets;
        var partitions = batch.RowPartitions;
        for (var row = 0; row < batch.Length; row++)
        {
            var selected = batch.Selection.IsSelected(row);
            var test = selected && (_stratifyColumn < 0
                ? Unit(Mix((ulong)(uint)_options.Seed, ((ulong)(uint)partitions[row] << 40) ^ (ulong)offsets[row])) < fraction
                : StratumOf(batch, row).Next(fraction));
            _testMask[row] = (byte)(test ? 1 : 0);
            _trainMask[row] = (byte)(selected && !test ? 1 : 0);
        }
        _train!.Write(batch, sequence, _trainMask.AsSpan(0, batch.Length));
        _test!.Write(batch, sequence, _testMask.AsSpan(0, batch.Length));
        ReportDurable();
    }

    private Stratum StratumOf(ColumnBatch batch, int row)
    {
        var column = batch[_stratifyColumn];
        if (column.Type == ColumnType.String)
        {
            var value = column.IsValid(row) ? column.Dictionary![column.Values<int>()[row]] : "\0null";
            if (!_stringStrata.TryGetValue(value, out var stratum))
                _stringStrata[value] = stratum = new Stratum(Unit(Mix((ulong)(uint)_options.Seed, (ulong)StableHash(value))));
            return stratum;
        }
        long key = !column.IsValid(row) ? long.MinValue : column.Type switch
        {
            ColumnType.Float32 => BitConverter.DoubleToInt64Bits(column.Values<float>()[row]),
            ColumnType.Float64 => BitConverter.DoubleToInt64Bits(column.Values<double>()[row]),
            ColumnType.Int32 => column.Values<int>()[row],
            ColumnType.Bool => column.Values<byte>()[row],
            _ => column.Values<long>()[row],
        };
        if (!_numberStrata.TryGetValue(key, out var s))
            _numberStrata[key] = s = new Stratum(Unit(Mix((ulong)(uint)_options.Seed, (ulong)key)));
        return s;
    }

    /// <summary>Sends row n of a class to test when floor((n+1)f + u) passes an integer: exactly f of each class to
    /// within one row, with the phase u drawn from the seed so different seeds pick different rows.</summary>
    private sealed class Stratum(double phase)
    {
        private long _seen;

        public bool Next(double fraction)
        {
            var before = Math.Floor(_seen * fraction + phase);
            _seen++;
            return Math.Floor(_seen * fraction + phase) > before;
        }
    }

    private static int StableHash(string value)
    {
        var hash = 2166136261u;
        foreach (var c in value) hash = (hash ^ c) * 16777619u;
        return (int)hash;
    }

    private static ulong Mix(ulong seed, ulong value)
    {
        // SplitMix64 finaliser: a cheap, well-distributed hash of (seed, position).
        var z = value + 0x9E3779B97F4A7C15UL * (seed + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static double Unit(ulong bits) => (bits >> 11) * (1.0 / (1UL << 53));

    /// <summary>Periodic flush: publishes files past their roll interval, or all with <c>PublishOnFlush</c>.</summary>
    public void Flush()
    {
        if (_train is null || _test is null) return;
        if (_options.Parquet.PublishOnFlush) PublishAll();
        else
        {
            _train.PublishExpired();
            _test.PublishExpired();
        }
        ReportDurable();
    }

    private void PublishAll()
    {
        _train!.PublishAll();
        _test!.PublishAll();
        ReportDurable();
    }

    private void ReportDurable()
    {
        var durable = Math.Min(_train!.DurableSequence, _test!.DurableSequence);
        if (durable > _markedDurable)
        {
            _markedDurable = durable;
            _context?.MarkDurable(durable);
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        if (_train is not null)
        {
            PublishAll();
            _train.Release();
            _test!.Release();
        }
        return ValueTask.CompletedTask;
    }
}
