using System.Diagnostics.CodeAnalysis;

namespace StreamMl.Testing;

/// <summary>What a test needs from the machine (a service, an installed program). When it is missing the test is
/// reported as skipped, with the reason, on a developer machine, and fails in CI (<c>CI=true</c>), where every service
/// is started. Only tests marked <c>[SkippableFact]</c> or <c>[SkippableTheory]</c> are reported as skipped; under a
/// plain <c>[Fact]</c> the skip shows as a failure.</summary>
internal static class Requirement
{
    /// <summary>True when the CI variable is "true" (GitHub Actions and most CI systems set it).</summary>
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Returns when <paramref name="met"/>; otherwise skips the test (outside CI) or fails it (in CI) with
    /// <paramref name="missing"/>, which says what is missing and how to get it.</summary>
    public static void That([DoesNotReturnIf(false)] bool met, string missing)
    {
        if (met) return;
        if (InCi) Xunit.Assert.Fail($"{missing} (CI=true, so a missing service fails the test instead of skipping it)");
        throw new Xunit.SkipException(missing);
    }
}
