using Xunit.Abstractions;

namespace StreamMl.Connectors.Tests.Delivery;

/// <summary>Addresses of the services scripts/services.sh starts. In CI (CI=true) a missing service fails the test;
/// on a developer machine the test writes why it did nothing and returns.</summary>
internal static class TestServices
{
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>host and port of the MQTT broker, or null (outside CI) when none is configured.</summary>
    public static (string Host, int Port)? Mqtt(ITestOutputHelper output)
    {
        var value = Require("STREAMML_MQTT", "an MQTT broker (mosquitto)", output);
        if (value is null) return null;
        var colon = value.LastIndexOf(':');
        return (value[..colon], int.Parse(value[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Npgsql connection string of the PostgreSQL server, or null (outside CI) when none is configured.</summary>
    public static string? Postgres(ITestOutputHelper output) => Require("STREAMML_PG", "a PostgreSQL server", output);

    private static string? Require(string variable, string what, ITestOutputHelper output)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrWhiteSpace(value)) return value;
        var message = $"{variable} is not set: this test needs {what}. Run `source scripts/services.sh; services_start` first (scripts/test.sh does).";
        if (InCi) throw new InvalidOperationException(message);
        output.WriteLine("NOT RUN: " + message);
        return null;
    }
}
