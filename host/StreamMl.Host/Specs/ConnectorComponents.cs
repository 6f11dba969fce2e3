using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMl.Connectors.Files;
using StreamMl.Connectors;
using StreamMl.Connectors.Parquet;
using StreamMl.Engine;
using StreamMl.Host.Pipelines;

namespace StreamMl.Host.Specs;

/// <summary>Factory entries for the connectors' sources and sinks (files, Parquet, Kafka, MQTT, PostgreSQL, HTTP).</summary>
internal static class ConnectorComponents
{
    public static void Register(ComponentRegistry registry)
    {
        // Connectors log (with their secrets redacted) through the registry's logger factory, read when they are created.
        Func<ILoggerFactory> logs = () => registry.ConnectorLoggers;
        registry.Sources["file"] = (node, context) => FileSourceFactory(node, context, logs);
        registry.Sources["kafka"] = (node, context) => KafkaSourceFactory(node, logs);
        registry.Sources["mqtt"] = (node, context) => MqttSourceFactory(node, logs);
        registry.Sinks["parquet"] = ParquetSinkFactory;
        registry.Sinks["kafka"] = (node, context) => KafkaSinkFactory(node, logs);
        registry.Sources["postgres"] = (node, context) => PostgresSourceFactory(node, logs);
        registry.Sinks["postgres"] = (node, context) => PostgresSinkFactory(node, logs);
        registry.Sources["http"] = (node, context) => HttpSourceFactory(node, context, logs);
    }

    /// <summary>A secret reference (<c>env:NAME</c> or <c>file:/path</c>). The value must be readable now, so a missing
    /// variable or file is reported at the key's line and column instead of when the pipeline connects; the value itself
    /// is read again when the client is built and never appears in an error.</summary>
    private static Secret? SecretOf(SpecNode node, string key)
    {
        var reference = node.String(key);
        if (reference is null) return null;
        try
        {
            var secret = Secret.Parse(reference);
            secret.Reveal();
            return secret;
        }
        catch (ConnectorConfigurationException ex)
        {
            node.Child(key)!.Error($"'{node.Child(key)!.Path}': {ex.Message}");
            return null;
        }
    }

    /// <summary>Extra librdkafka properties (<c>config: { session.timeout.ms: 6000 }</c>). Properties that hold a secret
    /// are refused: they belong in <c>security</c>, as references.</summary>
    private static Dictionary<string, string> KafkaConfigOf(SpecNode node, IReadOnlyList<string> reserved)
    {
        var config = new Dictionary<string, string>(StringComparer.Ordinal);
        if (node.Child("config") is not { } configNode) return config;
        if (!configNode.IsMapping)
        {
            configNode.Error($"'{configNode.Path}' must be a mapping of librdkafka properties");
            return config;
        }
        foreach (var name in configNode.Keys.ToList())
        {
            var value = configNode.String(name);
            if (name.Contains("password", StringComparison.OrdinalIgnoreCase) || name.Contains("secret", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("sasl.", StringComparison.OrdinalIgnoreCase) || name.StartsWith("ssl.key", StringComparison.OrdinalIgnoreCase))
                configNode.Child(name)!.Error($"'{configNode.Path}.{name}' may hold a secret; set it under 'security' (secrets as env:NAME or file:/path)");
            else if (KafkaDeliverySettings.FirstReserved([name], reserved) is not null)
                configNode.Child(name)!.Error($"'{configNode.Path}.{name}' is set by StreamMl for at-least-once delivery and cannot be overridden; remove it");
            else if (value is not null) config[name] = value;
        }
        return config;
    }

    /// <summary><c>security: { protocol: plaintext|ssl|sasl_plaintext|sasl_ssl, sasl_mechanism: plain|scram-sha-256|scram-sha-512|oauthbearer|gssapi,
    /// username, password: env:NAME, ca: /etc/ca.pem, certificate, key, key_password: file:/path, verify_certificate: true }</c></summary>
    private static KafkaSecurityOptions KafkaSecurityOf(SpecNode node)
    {
        var security = new KafkaSecurityOptions();
        if (node.Child("security") is not { } sec) return security;
        security.Protocol = sec.Choice("protocol", ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"]) switch
        {
            "plaintext" => SecurityProtocol.Plaintext,
            "ssl" => SecurityProtocol.Ssl,
            "sasl_plaintext" => SecurityProtocol.SaslPlaintext,
            "sasl_ssl" => SecurityProtocol.SaslSsl,
            _ => null,
        };
        security.SaslMechanism = sec.Choice("sasl_mechanism", ["plain", "scram-sha-256", "scram-sha-512", "oauthbearer", "gssapi"]) switch
        {
            "plain" => SaslMechanism.Plain,
            "scram-sha-256" => SaslMechanism.ScramSha256,
            "scram-sha-512" => SaslMechanism.ScramSha512,
            "oauthbearer" => SaslMechanism.OAuthBearer,
            "gssapi" => SaslMechanism.Gssapi,
            _ => null,
        };
        security.SaslUsername = sec.String("username");
        security.SaslPassword = SecretOf(sec, "password");
        security.SslCaLocation = sec.String("ca");
        security.SslCertificateLocation = sec.String("certificate");
        security.SslKeyLocation = sec.String("key");
        security.SslKeyPassword = SecretOf(sec, "key_password");
        security.VerifyCertificate = sec.Bool("verify_certificate") ?? true;
        if (security.Protocol is SecurityProtocol.SaslPlaintext or SecurityProtocol.SaslSsl && security.SaslMechanism != SaslMechanism.OAuthBearer
            && (security.SaslUsername is null || !sec.Has("password")))
            sec.Error($"'{sec.Path}': SASL needs 'username' and 'password' (password as env:NAME or file:/path)");
        sec.RejectUnknownKeys(sec.Path);
        return security;
    }

    private static PostgresConnectionOptions? PostgresConnectionOf(SpecNode node)
    {
        var connection = node.String("connection", required: true);
        var password = SecretOf(node, "password");
        var ssl = node.Choice("ssl_mode", ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"], fallback: null);
        var rootCertificate = node.String("root_certificate");
        if (connection is null) return null;
        try
        {
            var parsed = new Npgsql.NpgsqlConnectionStringBuilder(connection);
            if (!string.IsNullOrEmpty(parsed.Password))
                node.Child("connection")!.Error("'connection' contains a password; remove it and set 'password: env:NAME' or 'password: file:/path'");
        }
        catch (ArgumentException ex)
        {
            // Npgsql's message names the keyword that failed, not the string's values (tested with a password in it).
            node.Child("connection")!.Error($"'connection' is not a valid PostgreSQL connection string: {ex.Message}");
            return null;
        }
        return new PostgresConnectionOptions
        {
            ConnectionString = connection, Password = password, RootCertificate = rootCertificate,
            SslMode = ssl switch
            {
                "disable" => Npgsql.SslMode.Disable,
                "allow" => Npgsql.SslMode.Allow,
                "prefer" => Npgsql.SslMode.Prefer,
                "require" => Npgsql.SslMode.Require,
                "verify-ca" => Npgsql.SslMode.VerifyCA,
                "verify-full" => Npgsql.SslMode.VerifyFull,
                _ => null,
            },
        };
    }

    /// <summary><c>{ kind: postgres, connection: "Host=..;Database=..;Username=..", password: env:PGPASSWORD, ssl_mode: require,
    /// table: readings, columns: {..}, cursor: id, mode: snapshot|incremental, event_time: col }</c></summary>
    private static Func<PipelineRuntime, IBatchSource>? PostgresSourceFactory(SpecNode node, Func<ILoggerFactory> logs)
    {
        var connection = PostgresConnectionOf(node);
        var table = node.String("table", required: true);
        var schema = BuiltInComponents.ReadColumns(node, "columns", node.Strings("required") ?? []);
        var cursor = node.String("cursor", required: true);
        var mode = node.Choice("mode", ["snapshot", "incremental"], fallback: "incremental") == "snapshot"
            ? PostgresReadMode.Snapshot : PostgresReadMode.SnapshotThenIncremental;
        var eventTime = node.String("event_time");
        if (connection is null || table is null || schema is null || cursor is null) return null;
        return _ => new PostgresSource(new PostgresSourceOptions
        {
            Connection = connection, Table = table, Schema = schema, CursorColumn = cursor, Mode = mode, EventTimeColumn = eventTime,
            LoggerFactory = logs(),
        });
    }

    /// <summary><c>{ kind: postgres, connection: "..", password: env:PGPASSWORD, table: scores, columns: [..], key: [id] }</c></summary>
    private static Func<PipelineRuntime, IBatchSink>? PostgresSinkFactory(SpecNode node, Func<ILoggerFactory> logs)
    {
        var connection = PostgresConnectionOf(node);
        var table = node.String("table", required: true);
        var columns = node.Strings("columns");
        var keys = node.Strings("key") ?? [];
        if (connection is null || table is null) return null;
        return _ => new PostgresSink(new PostgresSinkOptions
        {
            Connection = connection, Table = table, Columns = columns, KeyColumns = keys, LoggerFactory = logs(),
        });
    }

    /// <summary><c>{ kind: http, url: https://.., columns: {..}, records: $.items, paths: {col: $.a.b}, pagination: none|next_link|page|cursor,
    /// bearer_token: env:TOKEN, api_key: file:/run/secrets/key, requests_per_second: 5, poll_seconds: 30, stop_at_end: false,
    /// checkpoint: state/api.json }</c></summary>
    private static Func<PipelineRuntime, IBatchSource>? HttpSourceFactory(SpecNode node, SpecContext context, Func<ILoggerFactory> logs)
    {
        var url = node.String("url", required: true);
        var schema = BuiltInComponents.ReadColumns(node, "columns", node.Strings("required") ?? []);
        var records = node.String("records") ?? "$";
        var paths = new Dictionary<string, string>(StringComparer.Ordinal);
        if (node.Child("paths") is { } pathNode)
            foreach (var name in pathNode.Keys.ToList()) paths[name] = pathNode.String(name) ?? "";
        var pagination = node.Choice("pagination", ["none", "next_link", "page", "cursor"], fallback: "none") switch
        {
            "next_link" => HttpPagination.NextLink,
            "page" => HttpPagination.PageNumber,
            "cursor" => HttpPagination.Cursor,
            _ => HttpPagination.None,
        };
        var bearer = SecretOf(node, "bearer_token");
        var apiKey = SecretOf(node, "api_key");
        var rate = node.Double("requests_per_second") ?? 5;
        var poll = node.Double("poll_seconds") ?? 30;
        var stopAtEnd = node.Bool("stop_at_end") ?? false;
        var eventTime = node.String("event_time");
        // Without it a restarted pipeline reads every page again (and a Parquet sink writes every row again).
        var checkpoint = node.String("checkpoint") is { } checkpointPath ? context.ResolvePath(checkpointPath) : null;
        Uri? uri = null;
        if (url is not null && !Uri.TryCreate(url, UriKind.Absolute, out uri)) node.Child("url")!.Error($"'{url}' is not an absolute URL");
        if (uri is null || schema is null) return null;
        return _ =>
        {
            var options = new HttpSourceOptions
            {
                Url = uri, Schema = schema, RecordsPath = records, Pagination = pagination, BearerToken = bearer, ApiKey = apiKey,
                RequestsPerSecond = rate, PollInterval = TimeSpan.FromSeconds(poll), StopAtEnd = stopAtEnd, EventTimeColumn = eventTime,
                CheckpointPath = checkpoint, LoggerFactory = logs(),
            };
            foreach (var (name, path) in paths) options.JsonPaths[name] = path;
            return new HttpSource(options);
        };
    }

    /// <summary><c>{ kind: file, path: data/*.csv | [a.csv, b.csv], format: auto|csv|jsonl|parquet, columns: {..}, types: {col: type},
    /// delimiter: ",", event_time: col, watermark_delay: 0s, source_file: false|true|name, watch: false, trim: false, infer_threshold: 0.99,
    /// csv_threads: 1|2 (default 2 on 4+ cores), checkpoint: state/files.json }</c>;
    /// with a checkpoint a restart resumes after the last committed row and Parquet output is exactly once, without one
    /// every run reads the files from the start (at least once).</summary>
    private static Func<PipelineRuntime, IBatchSource>? FileSourceFactory(SpecNode node, SpecContext context, Func<ILoggerFactory> logs)
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
        var trim = node.Bool("trim") ?? false;
        var threshold = node.Double("infer_threshold", min: 0.5, max: 1) ?? 0.99;
        var csvThreads = node.Int("csv_threads", min: 1, max: 64);
        var checkpoint = node.String("checkpoint") is { } checkpointPath ? context.ResolvePath(checkpointPath) : null;
        var watermarkDelay = node.Duration("watermark_delay") ?? TimeSpan.Zero;
        if (node.Has("watermark_delay") && eventTime is null)
            node.Child("watermark_delay")!.Error("'watermark_delay' needs 'event_time': the watermark follows the event-time column");
        var sourceFile = SourceFileColumnOf(node);
        if (paths is null) return null;
        var resolved = paths.Select(context.ResolvePath).ToList();
        return _ =>
        {
            var options = new FileSourceOptions
            {
                Format = format, Schema = schema, EventTimeColumn = eventTime, Watch = watch, Trim = trim, InferenceThreshold = threshold,
                CheckpointPath = checkpoint, LoggerFactory = logs(), WatermarkDelay = watermarkDelay, SourceFileColumn = sourceFile,
            };
            foreach (var path in resolved) options.Paths.Add(path);
            foreach (var (name, type) in types) options.TypeOverrides[name] = type;
            if (delimiter is { Length: 1 }) options.Delimiter = delimiter[0];
            if (csvThreads is { } threads) options.CsvParseThreads = threads;
            return FileSource.Create(options);
        };
    }

    /// <summary><c>source_file: true</c> adds a column <c>source_file</c> with each row's file path; <c>source_file: NAME</c>
    /// names the column; <c>false</c> or absent adds none.</summary>
    private static string? SourceFileColumnOf(SpecNode node)
    {
        var value = node.String("source_file");
        if (value is null || value.Equals("false", StringComparison.OrdinalIgnoreCase)) return null;
        if (value.Equals("true", StringComparison.OrdinalIgnoreCase)) return "source_file";
        if (value.Length == 0 || value.Any(char.IsWhiteSpace))
        {
            node.Child("source_file")!.Error($"'source_file' must be true, false or a column name without spaces, got '{value}'");
            return null;
        }
        return value;
    }

    /// <summary>Publication defaults of a Parquet sink in a spec: a file is published (and its rows' positions committed,
    /// Kafka offsets stored, MQTT messages acknowledged) at least every 10 s or 1,000,000 rows, so a long-running
    /// pipeline's checkpoints advance while it runs (the library's defaults publish only at 512 MiB or at the end).</summary>
    internal const double DefaultRollSeconds = 10;

    /// <summary>See <see cref="DefaultRollSeconds"/>.</summary>
    internal const long DefaultRollRows = 1_000_000;

    /// <summary><c>{ kind: parquet, path: out/, prefix: part, row_group_rows: 16384, compression: snappy|zstd|gzip|lz4|none,
    /// columns: [..], exclude: [..], partition_by: col, roll_rows: 1000000, roll_seconds: 10, roll_mb: 512,
    /// publish_on_flush: false }</c> (0 turns a roll limit off).</summary>
    private static Func<PipelineRuntime, IBatchSink>? ParquetSinkFactory(SpecNode node, SpecContext context)
    {
        var path = node.String("path", required: true);
        var prefix = node.String("prefix") ?? "part";
        var rowGroup = node.Int("row_group_rows", min: 1) ?? ParquetSinkOptions.DefaultRowGroupRows;
        var compression = node.Choice("compression", ["snappy", "zstd", "gzip", "lz4", "none"], fallback: "snappy") switch
        {
            "zstd" => ParquetCompression.Zstd,
            "gzip" => ParquetCompression.Gzip,
            "lz4" => ParquetCompression.Lz4,
            "none" => ParquetCompression.None,
            _ => ParquetCompression.Snappy,
        };
        var columns = node.Strings("columns") ?? [];
        var exclude = node.Strings("exclude") ?? [];
        var partitionBy = node.String("partition_by");
        var rollRows = node.Long("roll_rows", min: 0) ?? DefaultRollRows;
        var rollSeconds = node.Double("roll_seconds", min: 0, max: 7 * 24 * 3600) ?? DefaultRollSeconds;
        var rollMb = node.Long("roll_mb", min: 0, max: 1L << 20) ?? 512;
        var publishOnFlush = node.Bool("publish_on_flush") ?? false;
        if (path is null) return null;
        var directory = context.ResolvePath(path);
        return _ =>
        {
            var options = new ParquetSinkOptions
            {
                Directory = directory, FilePrefix = prefix, RowGroupRows = rowGroup, Compression = compression, PartitionBy = partitionBy,
                RollRows = rollRows, RollInterval = TimeSpan.FromSeconds(rollSeconds), RollBytes = rollMb << 20, PublishOnFlush = publishOnFlush,
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

    /// <summary><c>{ kind: kafka, bootstrap: host:9092, topics: [t], group: g, columns: {..}, format: json|csv|arrow, key_column, event_time,
    /// auto_offset_reset, dead_letter_topic: t.dlq, security: {..}, config: {librdkafka property: value} }</c></summary>
    private static Func<PipelineRuntime, IBatchSource>? KafkaSourceFactory(SpecNode node, Func<ILoggerFactory> logs)
    {
        var bootstrap = node.String("bootstrap", required: true);
        var topics = node.Strings("topics", required: true);
        var group = node.String("group", required: true);
        var schema = BuiltInComponents.ReadColumns(node, "columns", node.Strings("required") ?? []);
        var codec = Codec(node);
        var key = node.String("key_column");
        var eventTime = node.String("event_time");
        var reset = node.Choice("auto_offset_reset", ["earliest", "latest"], fallback: "earliest")!;
        var deadLetterTopic = node.String("dead_letter_topic");
        var security = KafkaSecurityOf(node);
        var config = KafkaConfigOf(node, KafkaDeliverySettings.Source);
        if (bootstrap is null || topics is null || group is null || schema is null || codec is null) return null;
        return _ =>
        {
            var options = new KafkaSourceOptions
            {
                BootstrapServers = bootstrap, Topics = topics, GroupId = group, Schema = schema, Codec = codec,
                KeyColumn = key, EventTimeColumn = eventTime, AutoOffsetReset = reset, DeadLetterTopic = deadLetterTopic,
                Security = security, LoggerFactory = logs(),
            };
            foreach (var (name, value) in config) options.Config[name] = value;
            return new KafkaSource(options);
        };
    }

    /// <summary><c>{ kind: kafka, bootstrap: host:9092, topic: t, format: json|csv|arrow, columns: [..], key_column, security: {..},
    /// config: {librdkafka property: value} }</c></summary>
    private static Func<PipelineRuntime, IBatchSink>? KafkaSinkFactory(SpecNode node, Func<ILoggerFactory> logs)
    {
        var bootstrap = node.String("bootstrap", required: true);
        var topic = node.String("topic", required: true);
        var codec = Codec(node);
        var columns = node.Strings("columns");
        var key = node.String("key_column");
        var security = KafkaSecurityOf(node);
        var config = KafkaConfigOf(node, KafkaDeliverySettings.Sink);
        if (bootstrap is null || topic is null || codec is null) return null;
        return _ =>
        {
            var options = new KafkaSinkOptions
            {
                BootstrapServers = bootstrap, Topic = topic, Codec = codec, Columns = columns, KeyColumn = key, Security = security,
                LoggerFactory = logs(),
            };
            foreach (var (name, value) in config) options.Config[name] = value;
            return new KafkaSink(options);
        };
    }

    /// <summary><c>{ kind: mqtt, host: 127.0.0.1, port: 1883, topics: [sensors/+/reading], client_id (default streamml-&lt;pipeline&gt;),
    /// max_in_flight: 8192, columns: {..}, format: json,
    /// device_column, event_time, security: { tls: true, ca: /etc/ca.pem, allow_untrusted: false, username, password: env:NAME } }</c></summary>
    private static Func<PipelineRuntime, IBatchSource>? MqttSourceFactory(SpecNode node, Func<ILoggerFactory> logs)
    {
        var host = node.String("host", required: true);
        var port = node.Int("port", min: 1, max: 65535) ?? 1883;
        var topics = node.Strings("topics", required: true);
        // QoS 1 needs the same client id after a restart: the broker keeps the unacknowledged messages in the session of
        // that id and hands them to whoever reconnects with it. A per-process id (streamml-<pid>) started a new session
        // each time and lost what the old one held (12,501 of 30,000 over 5 kills), so the default comes from the pipeline.
        var clientId = node.String("client_id");
        if (clientId is { Length: 0 or > 256 }) node.Child("client_id")!.Error("'client_id' must be 1 to 256 characters");
        var maxInFlight = node.Int("max_in_flight", min: 1, max: 65535) ?? 8192;
        var schema = BuiltInComponents.ReadColumns(node, "columns", node.Strings("required") ?? []);
        var codec = Codec(node);
        var device = node.String("device_column");
        var eventTime = node.String("event_time");
        var security = new MqttSecurityOptions();
        if (node.Child("security") is { } sec)
        {
            security.UseTls = sec.Bool("tls") ?? false;
            security.CaCertificatePath = sec.String("ca");
            security.AllowUntrustedCertificates = sec.Bool("allow_untrusted") ?? false;
            security.Username = sec.String("username");
            security.Password = SecretOf(sec, "password");
            if (security.Password is not null && security.Username is null)
                sec.Error($"'{sec.Path}': a password needs a 'username'");
            sec.RejectUnknownKeys(sec.Path);
        }
        if (host is null || topics is null || schema is null || codec is null) return null;
        return runtime => new MqttSource(new MqttSourceOptions
        {
            Host = host, Port = port, Topics = topics, ClientId = clientId ?? $"streamml-{runtime.Name}", Schema = schema, Codec = codec,
            DeviceIdColumn = device, EventTimeColumn = eventTime, Security = security, LoggerFactory = logs(), MaxInFlight = maxInFlight,
        });
    }
}
