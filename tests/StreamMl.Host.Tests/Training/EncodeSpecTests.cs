using System.Globalization;
using System.Text;
using StreamMl.Engine;
using StreamMl.Host.Registry;
using StreamMl.Host.Training;

namespace StreamMl.Host.Tests.Training;

/// <summary>Issue 17: `encode: {column: target|frequency}` fits the encodings inside each training fold (no leakage
/// through the spec), and the fitted tables travel in the ONNX graph, so served rows match training within 1e-6.</summary>
public sealed class EncodeSpecTests : IDisposable
{
    private readonly string _folder = TrainingTestData.TempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Spec(string csv, string extra) => TrainingTestData.Write(_folder, $"spec-{Guid.NewGuid():N}.yaml", $"""
        name: encoded
        data: {"{"} path: {csv}, drop: [id] {"}"}
        target: y
        task: binary
        threads: 1
        {extra}
        validation: {"{"} folds: 5, seed: 7, holdout: 0.2 {"}"}
        gates: {"{"} championMargin: null {"}"}
        registry: {"{"} path: {Path.Combine(_folder, "models")}, promote: never {"}"}
        """);

    /// <summary>Random labels, a 1,000-category text column and a numeric noise column: nothing to learn.</summary>
    private string NoiseCsv(bool leakedEncoding)
    {
        var random = new Random(5);
        const int rows = 2000;
        var cities = new string[rows];
        var labels = new int[rows];
        var x = new double[rows];
        for (var r = 0; r < rows; r++)
        {
            cities[r] = "c" + random.Next(1000).ToString(CultureInfo.InvariantCulture);
            labels[r] = random.Next(2);
            x[r] = random.NextDouble();
        }
        var text = new StringBuilder(leakedEncoding ? "id,city_mean,x,y\n" : "id,city,x,y\n");
        // The leak, as a reference: each city's smoothed target mean over every row, computed here before any split.
        var prior = labels.Average();
        var sums = cities.Select((c, r) => (c, r)).GroupBy(t => t.c).ToDictionary(g => g.Key, g => (Sum: g.Sum(t => labels[t.r]), Count: g.Count()));
        for (var r = 0; r < rows; r++)
        {
            var city = leakedEncoding
                ? ((sums[cities[r]].Sum + 10 * prior) / (sums[cities[r]].Count + 10)).ToString("R", CultureInfo.InvariantCulture)
                : cities[r];
            text.Append(CultureInfo.InvariantCulture, $"{r},{city},{x[r]:R},{labels[r]}\n");
        }
        return TrainingTestData.Write(_folder, leakedEncoding ? "leaked.csv" : "noise.csv", text.ToString());
    }

    [Fact]
    public async Task A_target_encoded_noise_column_cross_validates_at_chance_because_each_fold_fits_its_own_encoding()
    {
        const string trees = "trainer: lightgbm\nhyperparameters: { trees: 30, leaves: 8, minLeaf: 20 }";
        var encoded = await TrainingRunner.RunAsync(TrainSpec.Load(Spec(NoiseCsv(leakedEncoding: false), "encode: { city: target }\n" + trees)));
        Assert.InRange(encoded.CrossValidation.Validation["roc_auc"].Mean, 0.44, 0.56);

        // The same encoding fitted on every row before the split (written into the file here) scores well above chance:
        // what the spec's CV would report if it encoded outside the folds.
        var leaked = await TrainingRunner.RunAsync(TrainSpec.Load(Spec(NoiseCsv(leakedEncoding: true), trees)));
        Assert.True(leaked.CrossValidation.Validation["roc_auc"].Mean > 0.6, $"the leaky reference scored {leaked.CrossValidation.Validation["roc_auc"].Mean:F3}");
    }

    [Theory]
    [InlineData("lr")]
    [InlineData("lightgbm")]
    public async Task Encoded_models_serve_through_the_engine_as_trained_within_1e6_unseen_categories_included(string trainer)
    {
        var random = new Random(9);
        var effects = Enumerable.Range(0, 300).Select(_ => random.NextDouble() * 4 - 2).ToArray();
        string[] plans = ["basic", "plus", "family", "pro", "max"];
        var text = new StringBuilder("id,city,plan,x,y\n");
        var unseenLines = new HashSet<int>();
        for (var r = 0; r < 3000; r++)
        {
            var unseen = r % 100 == 0;
            var city = random.Next(300);
            var x = random.NextDouble();
            var plan = random.Next(plans.Length);
            var logit = effects[city] + 0.3 * plan - 0.6 + x;
            var y = random.NextDouble() < 1 / (1 + Math.Exp(-logit)) ? 1 : 0;
            // Every hundredth row holds a city no other row has: in the held-out split, a category the fit never saw.
            var cityName = unseen ? $"new-{r}" : $"city-{city}";
            if (unseen) unseenLines.Add(r + 2);
            text.Append(CultureInfo.InvariantCulture, $"{r},{cityName},{plans[plan]},{x:R},{y}\n");
        }
        var csv = TrainingTestData.Write(_folder, "cities.csv", text.ToString());
        var report = await TrainingRunner.RunAsync(TrainSpec.Load(Spec(csv, $"encode: {{ city: target, plan: frequency }}\ntrainer: {trainer}\nhyperparameters: {{ trees: 40 }}")));
        Assert.True(report.CrossValidation.Validation["roc_auc"].Mean > 0.62, $"cv roc_auc {report.CrossValidation.Validation["roc_auc"].Mean:F3}");
        Assert.Contains(report.HeldOutLines, line => unseenLines.Contains((int)line));

        var version = new ModelRegistry(Path.Combine(_folder, "models")).Open("encoded", report.Version.Version);
        Assert.Contains("category_code", File.ReadAllText(version.PathOf(ModelPackage.FeaturesFile)));
        using var model = RegisteredModel.Load(version);
        var table = (await DataTableReader.ReadAsync(csv, 0, CancellationToken.None)).Table;
        var rowOfLine = Enumerable.Range(0, table.Rows).ToDictionary(r => table.LineNumbers[r]);
        var rows = report.HeldOutLines.Select(line => rowOfLine[line]).ToArray();
        var streamed = await StreamingEvaluator.RunAsync(model, table, rows, CancellationToken.None);
        for (var i = 0; i < rows.Length; i++)
            Assert.True(Math.Abs(streamed.Scores[i] - report.HeldOutPredictions[i]) <= 1e-6,
                $"line {report.HeldOutLines[i]}: served {streamed.Scores[i]}, trained {report.HeldOutPredictions[i]}");
    }

    [Theory]
    [InlineData("encode: { city: mean }\n", "encode.city 'mean' is not target or frequency")]
    [InlineData("task: multiclass\nencode: { city: target }\n", "encode.city: target encoding needs a binary or regression target; use frequency")]
    public void Bad_encode_settings_are_named_before_the_data_is_read(string yaml, string expected)
    {
        var message = Assert.Throws<StreamMlException>(() => TrainSpec.Parse("name: m\ndata: { path: d.csv }\ntarget: y\n" + yaml, json: false, "s.yaml")).Message;
        Assert.Contains(expected, message);
    }
}
