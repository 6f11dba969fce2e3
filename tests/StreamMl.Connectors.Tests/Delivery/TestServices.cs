namespace StreamMl.Connectors.Tests.Delivery;

/// <summary>Addresses of the services scripts/services.sh starts. A missing one skips the test on a developer machine
/// (reported as skipped, with the reason) and fails it in CI (CI=true); see <see cref="Requirement"/>. The tests that
/// call these are <c>[SkippableFact]</c>s.</summary>
internal static class TestServices
{
    /// <summary>Host and port of the MQTT broker (STREAMML_MQTT=host:port).</summary>
    public static (string Host, int Port) Mqtt()
    {
        var value = Require("STREAMML_MQTT", "an MQTT broker (mosquitto)");
        var colon = value.LastIndexOf(':');
        return (value[..colon], int.Parse(value[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Npgsql connection string of the PostgreSQL server (STREAMML_PG).</summary>
    public static string Postgres() => Require("STREAMML_PG", "a PostgreSQL server");

    /// <summary>The pg_ctl command line that controls the PostgreSQL server (STREAMML_PG_CTL), for restart tests: only
    /// set when scripts/services.sh started the server.</summary>
    public static string PostgresControl() => Require("STREAMML_PG_CTL", "a PostgreSQL server it may restart (one started by scripts/services.sh)");

    private static string Require(string variable, string what)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        Requirement.That(!string.IsNullOrWhiteSpace(value),
            $"{variable} is not set: this test needs {what}. Run `source scripts/services.sh; services_start` first (scripts/test.sh does).");
        return value;
    }
}
