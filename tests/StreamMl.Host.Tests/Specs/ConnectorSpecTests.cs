using StreamMl.Host.Cli;
using StreamMl.Host.Models;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Tests.Specs;

/// <summary>The PostgreSQL and HTTP connectors as spec kinds: good specs validate, and a secret written into the spec
/// or a bad URL is reported at its position.</summary>
public sealed class ConnectorSpecTests
{
    private static readonly SpecCompiler s_compiler = new(ComponentRegistry.CreateDefault(), new ModelCatalog());

    [Fact]
    public void Postgres_source_and_sink_and_http_source_validate()
    {
        // Secret references must resolve when the spec is checked.
        Environment.SetEnvironmentVariable("STREAMML_TEST_SPEC_PGPASSWORD", "pg-secret");
        var token = Path.GetTempFileName();
        File.WriteAllText(token, "api-token\n");
        const string postgres = """
            name: pg
            source:
              kind: postgres
              connection: "Host=127.0.0.1;Port=5432;Database=sensors;Username=reader"
              password: env:STREAMML_TEST_SPEC_PGPASSWORD
              ssl_mode: require
              table: readings
              columns: { id: int64, temperature: float32 }
              cursor: id
              mode: snapshot
            sinks:
              - kind: postgres
                connection: "Host=127.0.0.1;Database=sensors;Username=writer"
                table: scores
                key: [id]
            """;
        Assert.Empty(ValidateCommand.Validate(s_compiler, postgres, null));

        var http = $$"""
            name: api
            source:
              kind: http
              url: https://api.example.com/v1/readings
              columns: { id: int64, value: float64 }
              records: $.items
              paths: { value: $.reading.value }
              pagination: cursor
              bearer_token: file:{{token}}
              requests_per_second: 2
            sinks:
              - kind: memory
            """;
        Assert.Empty(ValidateCommand.Validate(s_compiler, http, null));
        File.Delete(token);
    }

    [Fact]
    public void A_secret_written_into_the_spec_and_a_relative_url_are_errors_at_their_positions()
    {
        const string spec = """
            name: api
            source:
              kind: http
              url: readings
              columns: { id: int64 }
              api_key: hunter2
            sinks:
              - kind: memory
            """;
        var errors = ValidateCommand.Validate(s_compiler, spec, null);
        Assert.Contains(errors, e => e.Line == 4 && e.Message.Contains("'readings' is not an absolute URL", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Line == 6 && e.Message.Contains("env:VARIABLE", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Message.Contains("hunter2", StringComparison.Ordinal));
    }
}
