using System.Text.Json;
using StreamMl.Engine;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Registry;
using StreamMl.Images.Serving;
using StreamMl.Images.Sources;

namespace StreamMl.Host.Specs;

/// <summary>The image kinds of a pipeline spec (docs/images.md): a source <c>{ kind: images, path: DIR }</c> listing a
/// folder's images, and a model <c>{ kind: image, name: caltech20, registry: ../models, top_k: 3 }</c> (or
/// <c>path:</c> a registry version folder) that decodes, preprocesses and scores them with a registered image classifier.</summary>
internal static class ImageComponents
{
    public static void Register(ComponentRegistry registry) => registry.Sources["images"] = Source;

    /// <summary><c>{ kind: images, path: DIR or GLOB, watch: false, interval: 1s, checkpoint: FILE }</c>: one row per image
    /// file (<c>path</c>, <c>label</c> = class folder). A plain folder without watch or checkpoint lists it once
    /// (<see cref="ImageFolderSource"/>); a glob, <c>watch</c> or <c>checkpoint</c> uses <see cref="ImageFileSource"/>.</summary>
    private static Func<PipelineRuntime, IBatchSource>? Source(SpecNode node, SpecContext context)
    {
        var path = node.String("path", required: true);
        var watch = node.Bool("watch") ?? false;
        var interval = node.Duration("interval");
        var checkpoint = node.String("checkpoint") is { } checkpointPath ? context.ResolvePath(checkpointPath) : null;
        node.RejectUnknownKeys("images source");
        if (path is null) return null;
        var resolved = context.ResolvePath(path);
        var (root, glob) = ImageFileSource.ParsePath(resolved);
        if (!Directory.Exists(root))
        {
            node.Child("path")!.Error($"the image folder '{root}' does not exist");
            return null;
        }
        if (glob is null && !watch && checkpoint is null) return _ => new ImageFolderSource(root);
        var options = new ImageSourceOptions { Path = resolved, Watch = watch, CheckpointPath = checkpoint };
        if (interval is { } every) options = options with { WatchInterval = every };
        return _ => new ImageFileSource(options);
    }

    /// <summary><c>model: { kind: image, name, registry (default models), version, path, top_k (default 3), batch (default 16),
    /// input (default path: a string column of file paths, or a binary column of encoded images) }</c>.</summary>
    public static Func<PipelineRuntime, IBatchOperator>? Model(SpecNode node, SpecContext context)
    {
        node.String("kind");
        var name = node.String("name");
        var registryPath = node.String("registry") ?? "models";
        var version = node.Int("version", min: 1);
        var path = node.String("path");
        var topK = node.Int("top_k", min: 1, max: 100) ?? 3;
        var batch = node.Int("batch", min: 1, max: 256) ?? 16;
        var input = node.String("input") ?? ImageFolderSource.PathColumn;
        node.RejectUnknownKeys("image model");
        string folder;
        try
        {
            if (path is not null) folder = context.ResolvePath(path);
            else if (name is not null)
            {
                var registry = new ModelRegistry(context.ResolvePath(registryPath));
                folder = (version is { } v ? registry.Open(name, v) : registry.Production(name) ?? registry.Open(name, registry.Versions(name).LastOrDefault()))
                    .Folder;
            }
            else
            {
                node.Error("an image model needs 'name' (a registered model) or 'path' (a registry version folder)");
                return null;
            }
        }
        catch (StreamMlException e)
        {
            node.Error(e.Message);
            return null;
        }
        var modelFile = Path.Combine(folder, ModelPackage.ModelFile);
        var schemaFile = Path.Combine(folder, ModelPackage.SchemaFile);
        if (!File.Exists(modelFile) || !File.Exists(schemaFile))
        {
            node.Error($"'{folder}' holds no registered image model ({ModelPackage.ModelFile} and {ModelPackage.SchemaFile})");
            return null;
        }
        using var schema = JsonDocument.Parse(File.ReadAllBytes(schemaFile));
        if (!schema.RootElement.TryGetProperty("classes", out var classNode) || classNode.ValueKind != JsonValueKind.Array)
        {
            node.Error($"'{schemaFile}' lists no classes: it is not an image classifier");
            return null;
        }
        string[] classes = [.. classNode.EnumerateArray().Select(c => c.GetString() ?? "")];
        var modelId = ModelIdOf(folder);
        return _ => new ImageClassifierOperator(File.ReadAllBytes(modelFile), classes, topK, input, batch, modelId: modelId);
    }

    /// <summary><c>name@version</c> of a registry version folder (<c>.../name/3</c>).</summary>
    private static string ModelIdOf(string folder)
    {
        var full = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar);
        return $"{Path.GetFileName(Path.GetDirectoryName(full))}@{Path.GetFileName(full)}";
    }
}
