using StreamMl.Connectors.Files;
using StreamMl.Engine;

namespace StreamMl.Host.Training;

/// <summary>Reads training data through a bounded engine pipeline: the connectors' <see cref="FileSource"/> (CSV, JSON
/// Lines or Parquet, gzip allowed; schema inferred) into a sink that gathers the rows as a <see cref="DataTable"/>.
/// Numeric, bool and timestamp columns become numbers, string columns text. Records the source cannot read go to the
/// dead-letter output and are counted.</summary>
internal static class DataTableReader
{
    public sealed record Result(DataTable Table, IReadOnlyList<DeadLetter> DeadLetters);

    public static async Task<Result> ReadAsync(string path, int limit, CancellationToken cancellationToken)
    {
        if (!File.Exists(path)) throw new StreamMlException($"data file {path} does not exist");
        if (new FileInfo(path).Length == 0) throw new StreamMlException($"{path} is empty: it has no header row and no data");
        var options = new FileSourceOptions { Name = "training-data" };
        options.Paths.Add(path);
        var source = FileSource.Create(options);
        var sink = new TableSink(source.Schema);
        var deadLetters = new CollectingDeadLetterSink();
        await using (var pipeline = Pipeline.From(source, new PipelineOptions { Name = "read-training-data", DeadLetters = deadLetters, ErrorPolicy = ErrorPolicy.Stop })
            .To(sink).Build())
        {
            await pipeline.RunAsync(cancellationToken);
        }
        return new Result(sink.ToTable(path, limit), deadLetters.Letters);
    }

    private sealed class TableSink(Schema schema) : IBatchSink
    {
        private readonly List<double>[] _numbers = schema.Select(f => f.Type == ColumnType.String ? null! : new List<double>()).ToArray();
        private readonly List<string?>[] _texts = schema.Select(f => f.Type == ColumnType.String ? new List<string?>() : null!).ToArray();
        private readonly List<long> _lines = [];
        private int[] _columns = [];

        public string Name => "training-table";

        public ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken)
        {
            _columns = schema.Select(f => context.Schema.Require(f.Name)).ToArray();
            return ValueTask.CompletedTask;
        }

        public void Write(ColumnBatch batch, long sequence)
        {
            for (var r = 0; r < batch.Length; r++)
            {
                if (!batch.Selection.IsSelected(r)) continue;
                _lines.Add(batch.RowOffsets[r]);
                for (var c = 0; c < _columns.Length; c++)
                {
                    var column = batch[_columns[c]];
                    var valid = column.IsValid(r);
                    switch (column.Type)
                    {
                        case ColumnType.String: _texts[c].Add(valid ? column.Dictionary![column.Values<int>()[r]] : null); break;
                        case ColumnType.Float32: _numbers[c].Add(valid ? column.Values<float>()[r] : double.NaN); break;
                        case ColumnType.Float64: _numbers[c].Add(valid ? column.Values<double>()[r] : double.NaN); break;
                        case ColumnType.Int32: _numbers[c].Add(valid ? column.Values<int>()[r] : double.NaN); break;
                        case ColumnType.Bool: _numbers[c].Add(valid ? column.Values<byte>()[r] != 0 ? 1 : 0 : double.NaN); break;
                        default: _numbers[c].Add(valid ? column.Values<long>()[r] : double.NaN); break; // Int64, Timestamp
                    }
                }
            }
        }

        public DataTable ToTable(string source, int limit)
        {
            var rows = limit > 0 ? Math.Min(limit, _lines.Count) : _lines.Count;
            var columns = schema.Select((f, c) => f.Type == ColumnType.String
                ? new DataColumn(f.Name, null, _texts[c].Take(rows).ToArray())
                : new DataColumn(f.Name, _numbers[c].Take(rows).ToArray(), null)).ToList();
            return new DataTable(source, columns, rows, _lines.Take(rows).ToArray());
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
