using System.CommandLine;
using StreamMl.Host.Models;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Cli;

/// <summary><c>streamml validate SPEC...</c>: checks specs without running them and lists every error as
/// <c>file:line:column: message</c>.</summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var specs = new Argument<FileInfo[]>("spec") { Description = "Pipeline spec files (YAML or JSON)", Arity = ArgumentArity.OneOrMore };
        var registry = new Option<string>("--registry") { Description = "Model registry folder (to check model names)", DefaultValueFactory = _ => "models" };
        var budget = new Option<string?>("--memory-budget")
        {
            Description = $"Memory a pipeline's ring may take (8GiB, 512MB, 25%); default {Hosting.MemoryBudget.EnvironmentVariable}, else half the available memory",
        };
        var command = new Command("validate", "Check pipeline specs and report every error with its line and column") { specs, registry, budget };
        command.SetAction(parse => Run(parse.GetValue(specs)!, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error,
            parse.GetValue(registry)!, parse.GetValue(budget)));
        return command;
    }

    public static int Run(FileInfo[] files, TextWriter output, TextWriter error, string registry = "models", string? memoryBudget = null)
    {
        if (!Hosting.MemoryBudget.TryResolve(memoryBudget, error, out var budget)) return ExitCodes.Usage;
        var result = ExitCodes.Ok;
        var catalog = new ModelCatalog();
        RegistryModels.Attach(catalog, registry);
        var compiler = new SpecCompiler(ComponentRegistry.CreateDefault(), catalog);
        foreach (var file in files)
        {
            if (!file.Exists)
            {
                error.WriteLine($"{file.FullName}: error: the file does not exist");
                result = Math.Max(result, ExitCodes.NotFound);
                continue;
            }
            var errors = Validate(compiler, File.ReadAllText(file.FullName), file.DirectoryName, budget);
            if (errors.Count == 0)
            {
                output.WriteLine($"{file.FullName}: ok");
                continue;
            }
            foreach (var e in errors) error.WriteLine($"{file.FullName}:{e.Line}:{e.Column}: error: {e.Message}");
            error.WriteLine($"{file.FullName}: {errors.Count} error(s)");
            result = ExitCodes.InvalidSpec;
        }
        return result;
    }

    /// <summary>Every error of a spec: syntax and options first; when those are fine, schema binding and the memory
    /// estimate against <paramref name="memoryBudget"/> (default: as the host resolves it) too.</summary>
    internal static IReadOnlyList<SpecError> Validate(SpecCompiler compiler, string text, string? baseDirectory, long? memoryBudget = null)
    {
        var errors = new SpecErrors();
        var spec = compiler.TryCompile(text, errors, baseDirectory);
        if (spec is null) return [.. errors.All.OrderBy(e => e.Line).ThenBy(e => e.Column)];
        try
        {
            var (_, schema) = spec.Bind(new Pipelines.PipelineRuntime(spec.Name, compiler.Catalog) { Checking = true });
            var budget = memoryBudget ?? Hosting.MemoryBudget.Resolve(null);
            return MemoryEstimate.Of(spec, schema).Check(spec, budget) is { } tooBig ? [tooBig] : [];
        }
        catch (SpecException ex)
        {
            return ex.Errors;
        }
    }
}
