using System.Text.Json;
using StreamMl.Host.Tests.Node;

namespace StreamMl.Host.Tests.Reporting;

/// <summary>Opens a monitoring report in Debian's chromium through tests/node-client/report-page.mjs (playwright-core)
/// and returns what the page shows as JSON. Skips outside CI, fails in CI, when chromium or node is missing.</summary>
internal static class ReportBrowser
{
    public static string RequireChromium()
    {
        var chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);
        Requirement.That(chromium is not null, "chromium is not installed: apt-get install chromium (scripts/test.sh installs it)");
        Requirement.That(File.Exists("/usr/bin/node") || File.Exists("/usr/local/bin/node"), "node is not installed: apt-get install nodejs npm");
        return chromium;
    }

    /// <summary>The page at <paramref name="target"/> (a file or an http URL) as seen in the browser; a full-page
    /// screenshot goes to <paramref name="screenshot"/> when set.</summary>
    public static async Task<JsonElement> OpenAsync(string target, string chromium, string? screenshot = null)
    {
        var (node, folder, _) = await NodeTool.PrepareAsync("playwright-core");
        string[] args = screenshot is null ? ["report-page.mjs", target, chromium] : ["report-page.mjs", target, chromium, screenshot];
        var (code, output, error) = await NodeTool.RunAsync(node, args, folder);
        Assert.True(code == 0, $"report-page.mjs exited {code}: {error}");
        return JsonDocument.Parse(output).RootElement.Clone();
    }
}
