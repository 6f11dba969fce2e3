using StreamMl.Connectors.Internal;
using StreamMl.Engine;

namespace StreamMl.Connectors.Files.Internal;

/// <summary>Collects the schema changes the readers meet (a file with a column the schema lacks, or without one of
/// its columns), once per file and column, and logs each as a warning. Written by the reading thread, read by anyone.</summary>
internal sealed class SchemaChangeLog(FileSourceOptions options)
{
    private readonly List<SchemaChange> _changes = [];
    private readonly HashSet<SchemaChange> _seen = [];
    // The columns of the first file compared: a column it has too is not a change (a declared schema may leave columns
    // out on purpose), so only what differs between files is reported, not every unused column of every file.
    private HashSet<string>? _baseline;
    private readonly ConnectorLog _log = new(options.LoggerFactory, "StreamMl.Connectors.Files", $"file source {options.Name}", Redaction.None);

    public IReadOnlyList<SchemaChange> Snapshot()
    {
        lock (_changes) return [.. _changes];
    }

    public void Note(string file, string column, SchemaChangeKind kind)
    {
        var change = new SchemaChange(file, column, kind);
        lock (_changes)
        {
            if (!_seen.Add(change)) return;
            _changes.Add(change);
        }
        _log.Warning(change.ToString());
    }

    /// <summary>Compares a file's columns (a CSV header, a Parquet schema) with the schema the source reads: schema
    /// columns the file lacks, and columns the schema lacks that the first file compared did not have either.</summary>
    public void Compare(string file, IReadOnlyList<string> columns, Schema schema, Func<string, int> columnOf)
    {
        var baseline = _baseline ??= new HashSet<string>(columns, StringComparer.Ordinal);
        var used = new HashSet<int>();
        foreach (var field in schema)
        {
            var index = columnOf(field.Name);
            if (index < 0) Note(file, field.Name, SchemaChangeKind.Missing);
            else used.Add(index);
        }
        for (var i = 0; i < columns.Count; i++)
            if (!used.Contains(i) && !baseline.Contains(columns[i])) Note(file, columns[i], SchemaChangeKind.NotRead);
    }
}
