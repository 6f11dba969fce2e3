using StreamMl.Connectors.Files;
using StreamMl.Connectors;
using StreamMl.Connectors.Parquet;
using StreamMl.Engine;
using StreamMl.Host.Pipelines;

namespace StreamMl.Host.Specs;

/// <summary>Factory entries for the connectors' sources and sinks (files, Parquet, Kafka, MQTT).</summary>
internal static class ConnectorComponents
{
    public static void Register(ComponentRegistry registry)
    {
        registry.Sources["file"] = FileSourceFactory;
        registry.Sources["kafka"] = KafkaSourceFactory;
        registry.Sources["mqtt"] = MqttSourceFactory;
        registry.Sinks["parquet"] = ParquetSinkFactory;
        registry.Sinks["kafka"] = KafkaSinkFactory;
    }

    /// <summary><c>{ kind: file, path: data/*.csv | [a.csv, b.csv], format: auto|csv|jsonl|parquet, columns: {..}, types: {col: type},
    /// delimiter: ",", event_time: col, watch: false }</c></summary>
    private static Func<PipelineRuntime, IBatchSource>? FileSourceFactory(SpecNode node, SpecContext context)
    {
        var paths = node.Strings("path", required: true);
        var format = node.Choice("format", ["auto", "csv", "jsonl", "parquet"], fallback: "auto") switch
        {
            "csv" => FileFormat.Csv,
            "jsonl" => FileFormat.JsonLines,
            "parquet" => FileFormat.Parquet,
            _ => FileFormat.Auto,
        };
        var schema = node.Has("columns") ? BuiltInComponents.ReadColumns(node, "columns", node.Strings("required") ?? []) : null;
        var types = new Dictionary<string, ColumnType>(StringComparer.Ordinal);
        if (node.Child("types") is { } typeNode)
            foreach (var name in typeNode.Keys.ToList())
            {
                var text = typeNode.String(name) ?? "";
                try { types[name] = ColumnTypes.Parse(text); }
                catch (SchemaMismatchException ex) { typeNode.Child(name)!.Error(ex.Message); }
            }
        var delimiter = node.String("delimiter");
        if (delimiter is { Length: not 1 }) node.Child("delimiter")!.Error($"'delimiter' must be one character, got '{delimiter}'");
        var eventTime = node.String("event_time");
        var watch = node.Bool("watch") ?? false;
        if (paths is null) return null;
        var resolved = paths.Select(context.ResolvePath).ToList();
        return _ =>
        {
            var options = new FileSourceOptions { Format = format, Schema = schema, EventTimeColumn = eventTime, Watch = watch };
            foreach (var path in resolved) options.Paths.Add(path);
            foreach (var (name, type) in types) options.TypeOverrides[name] = type;
            if (delimiter is { Length: 1 }) options.Delimiter = delimiter[0];
            return FileSource.Create(options);
        };
    }

    /// <summary><c>{ kind: parquet, path: out/, prefix: part, row_group_rows: 65536, compression: snappy|zstd|none,
    /// columns: [..], exclude: [..], partition_by: col }</c></summary>
    private static Func<PipelineRuntime, IBatchSink>? ParquetSinkFactory(SpecNode node, SpecContext context)
    {
        var path = node.String("path", required: true);
        var prefix = node.String("prefix") ?? "part";
        var rowGroup = node.Int("row_group_rows", min: 1) ?? 65_536;
        var compression = node.Choice("compression", ["snappy", "zstd", "none"], fallback: "snappy") switch
        {
            "zstd" => ParquetCompression.Zstd,
            "none" => ParquetCompression.None,
            _ => ParquetCompression.Snappy,
        };
        var columns = node.Strings("columns") ?? [];
        var exclude = node.Strings("exclude") ?? [];
        var partitionBy = node.String("partition_by");
        if (path is null) return null;
        var directory = context.ResolvePath(path);
        return _ =>
        {
            var options = new ParquetSinkOptions
            {
                Directory = directory, FilePrefix = prefix, RowGroupRows = rowGroup, Compression = compression, PartitionBy = partitionBy,
            };
            foreach (var c in columns) options.Columns.Add(c);
            foreach (var c in exclude) options.ExcludeColumns.Add(c);
            return new ParquetSink(options);
        };
    }

    private static MessageCodecOptions? Codec(SpecNode node)
    {
        var format = node.Choice("format", ["json", "csv", "arrow"], fallback: "json") switch
        {
            "csv" => MessageFormat.Csv,
            "arrow" => MessageFormat.ArrowIpc,
            _ => MessageFormat.Json,
        };
        var csvColumns = node.Strings("csv_columns");
        return new MessageCodecOptions { Format = format, CsvColumns = csvColumns };
    }

    /// <summary><c>{ kind: kafka, bootstrap: host:9092, topics: [t], group: g, columns: {..}, format: json|csv|arrow, key_column, event_time }</c></summary>
    private static Func<PipelineRuntime, IBatchSource>? KafkaSourceFactory(SpecNode node, SpecContext context)
    {
        var bootstrap = node.String("bootstrap", required: true);
        var topics = node.Strings("topics", required: true);
        var group = node.String("group", required: true);
        var schema = BuiltInComponents.ReadColumns(node, "columns", node.Strings("required") ?? []);
        var codec = Codec(node);
        var key = node.String("key_column");
        var eventTime = node.String("event_time");
        var reset = node.Choice("auto_offset_reset", ["earliest", "latest"], fallback: "earliest")!;
        if (bootstrap is null || topics is null || group is null || schema is null || codec is null) return null;
        return _ => new KafkaSource(new KafkaSourceOptions
        {
            BootstrapServers = bootstrap, Topics = topics, GroupId = group, Schema = schema, Codec = codec,
            KeyColumn = key, EventTimeColumn = eventTime, AutoOffsetReset = reset,
        });
    }

    /// <summary><c>{ kind: kafka, bootstrap: host:9092, topic: t, format: json|csv|arrow, columns: [..], key_column }</c></summary>
    private static Func<PipelineRuntime, IBatchSink>? KafkaSinkFactory(SpecNode node, SpecContext context)
    {
        var bootstrap = node.String("bootstrap", required: true);
        var topic = node.String("topic", required: true);
        var codec = Codec(node);
        var columns = node.Strings("columns");
        var key = node.String("key_column");
        if (bootstrap is null || topic is null || codec is null) return null;
        return _ => new KafkaSink(new KafkaSinkOptions { BootstrapServers = bootstrap, Topic = topic, Codec = codec, Columns = columns, KeyColumn = key });
    }

    /// <summary><c>{ kind: mqtt, host: 127.0.0.1, port: 1883, topics: [sensors/+/reading], client_id, columns: {..}, format: json,
    /// device_column, event_time }</c></summary>
    private static Func<PipelineRuntime, IBatchSource>? MqttSourceFactory(SpecNode node, SpecContext context)
    {
        var host = node.String("host", required: true);
        var port = node.Int("port", min: 1, max: 65535) ?? 1883;
        var topics = node.Strings("topics", required: true);
        var clientId = node.String("client_id") ?? $"streamml-{Environment.ProcessId}";
        var schema = BuiltInComponents.ReadColumns(node, "columns", node.Strings("required") ?? []);
        var codec = Codec(node);
        var device = node.String("device_column");
        var eventTime = node.String("event_time");
        if (host is null || topics is null || schema is null || codec is null) return null;
        return _ => new MqttSource(new MqttSourceOptions
        {
            Host = host, Port = port, Topics = topics, ClientId = clientId, Schema = schema, Codec = codec,
            DeviceIdColumn = device, EventTimeColumn = eventTime,
        });
    }
}
