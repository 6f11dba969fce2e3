using System.Globalization;
using System.Text;
using StreamMl.Host.Tests.Training;
using StreamMl.Host.Training;

namespace StreamMl.Host.Tests.Rollouts;

/// <summary>Generated rows and registry versions for rollout tests: id, x0, x1, x2 uniform on [0, 1), y = 1 with
/// probability sigmoid(4·(x0 + x1 − 1)); version 1 ignores x1, 2 uses x0 and x1, 3 learned from x2 alone (noise).</summary>
internal static class RolloutTestData
{
    /// <summary>Trains versions 1, 2 and 3 of model 'gen' into FOLDER/models and makes version 1 production.</summary>
    public static async Task<string> TrainGen(string folder)
    {
        var train = WriteRows(Path.Combine(folder, "train.csv"), 3000, seed: 1);
        foreach (var drop in (string[])["drop: [id, x1]", "drop: [id]", "drop: [id, x0, x1]"])
        {
            var spec = TrainingTestData.Write(folder, $"gen-{Guid.NewGuid():N}.yaml", $"""
                name: gen
                data:
                  path: {train}
                  {drop}
                target: y
                task: binary
                trainer: lr
                validation: {"{"} folds: 3, seed: 7, holdout: 0.2 {"}"}
                registry: {"{"} path: {Path.Combine(folder, "models")} {"}"}
                """);
            await TrainingRunner.RunAsync(TrainSpec.Load(spec));
        }
        var root = Path.Combine(folder, "models");
        new StreamMl.Host.Registry.ModelRegistry(root).Promote("gen", 1, "test");
        return root;
    }

    /// <summary>Writes the rows; with <paramref name="labelEvery"/> above 1 only every n-th row carries its label (the
    /// others' y is empty: not known yet).</summary>
    public static string WriteRows(string path, int rows, int seed, int labelEvery = 1)
    {
        var random = new Random(seed);
        var text = new StringBuilder("id,x0,x1,x2,y\n");
        for (var i = 0; i < rows; i++)
        {
            double x0 = random.NextDouble(), x1 = random.NextDouble(), x2 = random.NextDouble();
            var y = random.NextDouble() < 1 / (1 + Math.Exp(-4 * (x0 + x1 - 1))) ? "1" : "0";
            text.Append(CultureInfo.InvariantCulture, $"{i},{x0:F5},{x1:F5},{x2:F5},{(i % labelEvery == 0 ? y : "")}\n");
        }
        File.WriteAllText(path, text.ToString());
        return path;
    }
}
