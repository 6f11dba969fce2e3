using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using StreamMl.Engine;
using StreamMl.Operators.Features;
using StreamMl.Operators.Scoring;
using StreamMl.Operators.Tests.Features;

namespace StreamMl.Operators.Tests.Scoring;

/// <summary>A model trained on separate feature columns (ML.NET's Concatenate inside the exported graph) takes one
/// [-1, 1] input per feature: the scorer binds each to the batch column itself, so nothing is gathered or copied.
/// Scores must still equal ONNX Runtime's own Run on the same rows, and steady state must allocate nothing.</summary>
[Collection(CreditModelsCollection.Name)]
public sealed class ColumnInputScoringTests(CreditModels credit)
{
    [Fact]
    public void Per_column_inputs_are_read_in_place_and_score_like_OnnxRuntime_Run()
    {
        var features = FeaturePipeline.Create("credit-columns")
            .StandardScale("LIMIT_BAL", "AGE", "BILL_AMT1").Log1p("PAY_AMT1").Passthrough("PAY_0")
            .Build().Fit(credit.Raw);
        var names = features.OutputColumns.ToArray();
        var matrix = features.TransformAll(credit.Raw, out var rows);
        var dir = Directory.CreateTempSubdirectory("streamml-columns-");
        try
        {
            // Train through a CSV so the IDataView has one column per feature, as a training job on a table would.
            var csv = Path.Combine(dir.FullName, "train.csv");
            using (var writer = new StreamWriter(csv))
            {
                writer.WriteLine(string.Join(",", names.Append("Label")));
                for (var r = 0; r < rows; r++)
                    writer.WriteLine(string.Join(",", Enumerable.Range(0, names.Length).Select(f => matrix[r * names.Length + f].ToString("R", CultureInfo.InvariantCulture))
                        .Append(credit.Labels[r] ? "true" : "false")));
            }
            var ml = new MLContext(seed: 5);
            var columns = names.Select((n, i) => new TextLoader.Column(n, DataKind.Single, i)).Append(new TextLoader.Column("Label", DataKind.Boolean, names.Length)).ToArray();
            var data = ml.Data.LoadFromTextFile(csv, columns, separatorChar: ',', hasHeader: true);
            var trained = ml.Transforms.Concatenate("Features", names).Append(ml.BinaryClassification.Trainers.LbfgsLogisticRegression()).Fit(data);
            using var stream = new MemoryStream();
            ml.Model.ConvertToOnnx(trained, data, stream, "Score", "Probability", "PredictedLabel");
            var onnx = stream.ToArray();

            using var model = OnnxModel.FromBytes(onnx, "lr-columns");
            Assert.True(model.TakesColumns(names), "the exported model should take one input per feature column: " + string.Join(", ", model.Inputs));
            using var scorer = new ScoringOperator(model, new ScoringOptions { FeatureColumns = names });
            var schema = scorer.Bind(features.Bind(credit.Raw[0].Schema));
            var batches = credit.ServingBatches(schema, 1000, 2500); // the last batch is partial: scored padded to 512 rows
            try
            {
                foreach (var b in batches) { features.Transform(b); scorer.Score(b); }
                Assert.False(scorer.GathersFeatures);
                var actual = batches.SelectMany(b => b.Values<float>(schema.Require("score")).ToArray()).ToArray();
                var expected = ReferenceRun(onnx, names, matrix, 1000, 2500);
                Assert.Equal(expected, actual);

                Assert.Equal(0, SteadyState.AllocatedBytes(() => { foreach (var b in batches) { features.Transform(b); scorer.Score(b); } }, 10));
            }
            finally { FeatureTestData.DisposeAll(batches); }
        }
        finally { dir.Delete(recursive: true); }
    }

    private static float[] ReferenceRun(byte[] onnx, string[] names, float[] matrix, int capacity, int rows)
    {
        using var options = OnnxModel.DefaultSessionOptions();
        using var session = new InferenceSession(onnx, options);
        using var runOptions = new RunOptions();
        var scores = new List<float>();
        for (var start = 0; start < rows; start += capacity)
        {
            var n = Math.Min(capacity, rows - start);
            var inputs = new Dictionary<string, OrtValue>();
            try
            {
                for (var f = 0; f < names.Length; f++)
                {
                    var column = Enumerable.Range(start, n).Select(r => matrix[r * names.Length + f]).ToArray();
                    inputs[names[f]] = OrtValue.CreateTensorValueFromMemory(column, [n, 1]);
                }
                inputs["Label"] = OrtValue.CreateTensorValueFromMemory(new bool[n], [n, 1]);
                using var outputs = session.Run(runOptions, inputs, ["Score.output"]);
                scores.AddRange(outputs[0].GetTensorDataAsSpan<float>().ToArray());
            }
            finally { foreach (var v in inputs.Values) v.Dispose(); }
        }
        return [.. scores];
    }
}
