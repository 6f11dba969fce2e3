using System.CommandLine;
using StreamMl.Host.Training;

namespace StreamMl.Host.Tests.Training;

/// <summary>Finds ../shared/data from the folder holding StreamMl.sln, writes specs and small CSV files to temp
/// folders, and runs the training commands the way the CLI does.</summary>
internal static class TrainingTestData
{
    public static string DataRoot => StreamMl.Testing.SharedData.Root;

    public static string Credit => Path.Combine(DataRoot, "credit_default", "UCI_Credit_Card.csv");

    public static string Housing => Path.Combine(DataRoot, "california_housing", "housing.csv");

    public static string TempFolder()
    {
        var path = Path.Combine(Path.GetTempPath(), "streamml-training-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>A small, fast credit spec: the first rows, few trees, 3 folds.</summary>
    public static string CreditSpec(string folder, string extra = "", int limit = 3000, string trainer = "lightgbm", int trees = 30,
        string name = "credit") => Write(folder, $"{name}-{Guid.NewGuid():N}.yaml", $"""
        name: {name}
        data:
          path: {Credit}
          drop: [ID]
          limit: {limit}
        target: default.payment.next.month
        task: binary
        trainer: {trainer}
        hyperparameters: {"{"} trees: {trees}, leaves: 16, learningRate: 0.05, minLeaf: 20 {"}"}
        validation: {"{"} folds: 3, seed: 7, holdout: 0.25 {"}"}
        registry: {"{"} path: {Path.Combine(folder, "models")} {"}"}
        {extra}
        """);

    public static string Write(string folder, string name, string text)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Runs a command line through the training commands; returns exit code, output and error text.</summary>
    public static (int Exit, string Output, string Error) Cli(params string[] args)
    {
        var root = new RootCommand("test");
        foreach (var command in TrainingCommands.Create()) root.Add(command);
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = root.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>Every entry under a folder, relative ("nothing was written" checks).</summary>
    public static string[] Tree(string root) => Directory.Exists(root)
        ? Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(root, p)).Order().ToArray()
        : [];
}
