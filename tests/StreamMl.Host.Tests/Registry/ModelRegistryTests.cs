using System.Security.Cryptography;
using System.Text.Json;
using StreamMl.Host.Registry;

namespace StreamMl.Host.Tests.Registry;

public sealed class ModelRegistryTests : IDisposable
{
    private readonly string _root = RegistryTestModels.TempRoot();

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Register_writes_every_file_with_a_manifest_whose_checksums_match_the_bytes()
    {
        var registry = new ModelRegistry(_root);
        var v1 = registry.Register("credit", RegistryTestModels.Package());
        var v2 = registry.Register("credit", RegistryTestModels.Package());
        Assert.Equal(1, v1.Version);
        Assert.Equal(2, v2.Version);
        Assert.Equal(ModelStage.Candidate, v1.Stage);
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_root, "credit", "1", "manifest.json")));
        var files = manifest.RootElement.GetProperty("files").EnumerateArray().ToArray();
        Assert.Equal(["features.json", "metrics.json", "model.onnx", "profile.json", "schema.json"], files.Select(f => f.GetProperty("name").GetString()).Order());
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(Path.Combine(_root, "credit", "1", file.GetProperty("name").GetString()!));
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), file.GetProperty("sha256").GetString());
        }
        Assert.Equal(RegistryTestModels.Onnx, File.ReadAllBytes(Path.Combine(_root, "credit", "1", "model.onnx")));
        Assert.Equal([1, 2], registry.Versions("credit"));
        Assert.Equal(["credit"], registry.Models());
    }

    [Fact]
    public void A_file_that_is_not_onnx_is_refused_and_nothing_is_written()
    {
        var registry = new ModelRegistry(_root);
        var error = Assert.Throws<RegistryException>(() => registry.Register("credit", RegistryTestModels.Package("PK\u0003\u0004 not a model"u8.ToArray())));
        Assert.Contains("is not a valid ONNX model", error.Message);
        Assert.Empty(RegistryTestModels.Tree(_root));
    }

    [Fact]
    public void A_package_missing_a_file_or_with_broken_json_is_refused_and_nothing_is_written()
    {
        var registry = new ModelRegistry(_root);
        var noProfile = new ModelPackage().Add(ModelPackage.ModelFile, RegistryTestModels.Onnx).Add(ModelPackage.FeaturesFile, "{}")
            .Add(ModelPackage.SchemaFile, "[]").Add(ModelPackage.MetricsFile, "{}");
        Assert.Contains("no profile.json", Assert.Throws<RegistryException>(() => registry.Register("m", noProfile)).Message);
        var broken = RegistryTestModels.Package().Add(ModelPackage.MetricsFile, "{ not json");
        Assert.Contains("metrics.json is not valid JSON", Assert.Throws<RegistryException>(() => registry.Register("m", broken)).Message);
        Assert.Throws<RegistryException>(() => registry.Register("../escape", RegistryTestModels.Package()));
        Assert.Empty(RegistryTestModels.Tree(_root));
    }

    [Fact]
    public void A_corrupt_or_incomplete_version_is_refused_on_open_and_on_promote()
    {
        var registry = new ModelRegistry(_root);
        registry.Register("m", RegistryTestModels.Package());
        registry.Register("m", RegistryTestModels.Package());
        var onnx = Path.Combine(_root, "m", "1", "model.onnx");
        var bytes = File.ReadAllBytes(onnx);
        bytes[bytes.Length / 2] ^= 0x5A;
        File.WriteAllBytes(onnx, bytes);
        var corrupt = Assert.Throws<RegistryException>(() => registry.Open("m", 1));
        Assert.Contains("version 1 is corrupt", corrupt.Message);
        Assert.Contains("model.onnx", corrupt.Message);
        Assert.Throws<RegistryException>(() => registry.Promote("m", 1));
        Assert.Null(registry.Stages("m").Production);

        File.Delete(Path.Combine(_root, "m", "2", "manifest.json"));
        Assert.Contains("version 2 is incomplete", Assert.Throws<RegistryException>(() => registry.Open("m", 2)).Message);
        Assert.Contains("has no version 9", Assert.Throws<RegistryException>(() => registry.Open("m", 9)).Message);
        Assert.Contains("is not registered", Assert.Throws<RegistryException>(() => registry.Open("other", 1)).Message);
    }

    [Fact]
    public void Promote_archives_the_previous_production_and_rollback_restores_it()
    {
        var registry = new ModelRegistry(_root);
        for (var i = 0; i < 3; i++) registry.Register("m", RegistryTestModels.Package());
        registry.Promote("m", 1);
        registry.Promote("m", 2);
        var book = registry.Promote("m", 3, "better AUC");
        Assert.Equal(3, book.Production);
        Assert.Equal([1, 2], book.Archived.Order());
        Assert.Equal(ModelStage.Production, registry.Open("m", 3).Stage);

        book = registry.Rollback("m", "alerts");
        Assert.Equal(2, book.Production);
        Assert.Equal(ModelStage.Archived, registry.Open("m", 3).Stage);
        book = registry.Rollback("m");
        Assert.Equal(1, book.Production);
        Assert.Contains("no earlier production version", Assert.Throws<RegistryException>(() => registry.Rollback("m")).Message);
        Assert.Equal(["promote", "promote", "promote", "rollback", "rollback"], registry.Stages("m").History.Select(e => e.Action));
        // A fresh registry object reads the same state from disk.
        Assert.Equal(1, new ModelRegistry(_root).Production("m")!.Version);
    }

    [Fact]
    public void Rollback_skips_an_earlier_version_that_became_corrupt()
    {
        var registry = new ModelRegistry(_root);
        for (var i = 0; i < 3; i++) registry.Register("m", RegistryTestModels.Package());
        registry.Promote("m", 1);
        registry.Promote("m", 2);
        registry.Promote("m", 3);
        File.AppendAllText(Path.Combine(_root, "m", "2", "metrics.json"), " ");
        Assert.Equal(1, registry.Rollback("m").Production);
    }

    [Fact]
    public void Lineage_follows_parents()
    {
        var registry = new ModelRegistry(_root);
        registry.Register("m", RegistryTestModels.Package());
        registry.Register("m", RegistryTestModels.Package(parent: 1));
        registry.Register("m", RegistryTestModels.Package(parent: 2));
        Assert.Equal([3, 2, 1], registry.Lineage("m", 3).Select(m => m.Version));
    }

    [Fact]
    public async Task Concurrent_writers_get_distinct_versions_and_leave_no_staging_folders()
    {
        var registries = Enumerable.Range(0, 4).Select(_ => new ModelRegistry(_root)).ToArray();
        var tasks = Enumerable.Range(0, 12).Select(i => Task.Run(() => registries[i % 4].Register("m", RegistryTestModels.Package()).Version)).ToArray();
        var versions = await Task.WhenAll(tasks);
        Assert.Equal(Enumerable.Range(1, 12), versions.Order());
        foreach (var v in versions) Assert.Equal(v, registries[0].Open("m", v).Manifest.Version);
        Assert.DoesNotContain(Directory.GetDirectories(Path.Combine(_root, "m")), d => Path.GetFileName(d).StartsWith('.'));

        // Concurrent promotions serialise: the final production is one of them and every other promoted version is archived.
        await Task.WhenAll(Enumerable.Range(1, 12).Select(v => Task.Run(() => registries[v % 4].Promote("m", v))));
        var book = registries[0].Stages("m");
        Assert.Equal(12, book.History.Count);
        Assert.Equal(Enumerable.Range(1, 12).Where(v => v != book.Production), book.Archived.Order());
        Assert.Equal(book.History[^1].Version, book.Production);
    }
}
