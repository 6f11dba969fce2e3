using Npgsql;
using StreamMl.Engine;

namespace StreamMl.Connectors;

/// <summary>Where and how to connect to PostgreSQL: an Npgsql connection string without secrets, plus the password and
/// TLS settings kept apart so they never appear in a spec or a log.</summary>
public sealed class PostgresConnectionOptions
{
    /// <summary>Npgsql connection string, e.g. <c>Host=db;Port=5432;Username=app;Database=plant</c>. Required. A
    /// password written here works but is redacted from logs; prefer <see cref="Password"/>.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>Password, from an environment variable or file. Default none.</summary>
    public Secret? Password { get; set; }

    /// <summary>TLS mode: Disable, Allow, Prefer, Require, VerifyCA or VerifyFull. Default: the connection string's
    /// (Npgsql's default is Prefer).</summary>
    public SslMode? SslMode { get; set; }

    /// <summary>PEM file of the certificate authority for VerifyCA / VerifyFull.</summary>
    public string? RootCertificate { get; set; }

    internal IEnumerable<string?> SecretValues()
    {
        if (Password is not null && Password.TryReveal(out var p)) yield return p;
        string? inline = null;
        try
        {
            inline = new NpgsqlConnectionStringBuilder(ConnectionString).Password;
        }
        catch (ArgumentException)
        {
            // reported when the data source is built
        }
        yield return inline;
    }

    internal NpgsqlDataSource BuildDataSource(string applicationName)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(ConnectionString);
        }
        catch (ArgumentException ex)
        {
            throw new ConnectorConfigurationException($"PostgreSQL connection string is invalid: {ex.Message}");
        }
        if (Password is not null) builder.Password = Password.Reveal();
        if (SslMode is { } mode) builder.SslMode = mode;
        if (RootCertificate is not null) builder.RootCertificate = RootCertificate;
        builder.ApplicationName ??= applicationName;
        return NpgsqlDataSource.Create(builder);
    }

    /// <summary>host:port/database, for messages (never the password).</summary>
    internal string Describe()
    {
        try
        {
            var b = new NpgsqlConnectionStringBuilder(ConnectionString);
            return $"{b.Host}:{b.Port}/{b.Database ?? b.Username}";
        }
        catch (ArgumentException)
        {
            return "(invalid connection string)";
        }
    }
}

/// <summary>SQL text helpers.</summary>
internal static class Sql
{
    public static string Quote(string identifier)
    {
        // Schema-qualified names are quoted part by part.
        return string.Join('.', identifier.Split('.').Select(p => "\"" + p.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""));
    }

    public static string TypeOf(ColumnType type) => type switch
    {
        ColumnType.Float32 => "real",
        ColumnType.Float64 => "double precision",
        ColumnType.Int32 => "integer",
        ColumnType.Int64 => "bigint",
        ColumnType.Bool => "boolean",
        ColumnType.Timestamp => "timestamptz",
        ColumnType.String => "text",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static NpgsqlTypes.NpgsqlDbType DbTypeOf(ColumnType type) => type switch
    {
        ColumnType.Float32 => NpgsqlTypes.NpgsqlDbType.Real,
        ColumnType.Float64 => NpgsqlTypes.NpgsqlDbType.Double,
        ColumnType.Int32 => NpgsqlTypes.NpgsqlDbType.Integer,
        ColumnType.Int64 => NpgsqlTypes.NpgsqlDbType.Bigint,
        ColumnType.Bool => NpgsqlTypes.NpgsqlDbType.Boolean,
        ColumnType.Timestamp => NpgsqlTypes.NpgsqlDbType.TimestampTz,
        ColumnType.String => NpgsqlTypes.NpgsqlDbType.Text,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static DateTime FromMicros(long micros) => new(DateTime.UnixEpoch.Ticks + micros * 10, DateTimeKind.Utc);

    public static long ToMicros(DateTime value) => (value.ToUniversalTime().Ticks - DateTime.UnixEpoch.Ticks) / 10;

    /// <summary>True for errors worth retrying: the server went away, restarted, or a connection broke.</summary>
    public static bool IsTransient(Exception ex) => ex switch
    {
        NpgsqlException { IsTransient: true } => true,
        PostgresException pg => pg.SqlState is "57P01" or "57P02" or "57P03" or "08000" or "08003" or "08006" or "08001" or "08004" or "53300" or "40001" or "40P01",
        NpgsqlException { InnerException: IOException or System.Net.Sockets.SocketException } => true,
        IOException or System.Net.Sockets.SocketException or TimeoutException => true,
        InvalidOperationException when ex.Message.Contains("connection", StringComparison.OrdinalIgnoreCase) => true,
        _ => false,
    };
}
