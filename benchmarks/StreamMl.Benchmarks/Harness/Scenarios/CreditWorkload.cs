using System.Globalization;
using CsvHelper;
using Microsoft.ML;
using Microsoft.ML.Data;
using StreamMl.Engine;
using StreamMl.Operators.Features;

namespace StreamMl.Benchmarks.Harness.Scenarios;

/// <summary>What S3's variants share, built once per process: a CSV of the credit-default data repeated
/// <see cref="Copies"/> times (header once), StreamMl's fitted feature pipeline and its FastTree model in ONNX, and
/// the same model trained as an ML.NET pipeline for the PredictionEngine peer. All of it is setup, not measured.</summary>
public sealed class CreditWorkload : IDisposable
{
    /// <summary>Copies of the 30,000 rows in the full-size file.</summary>
    public const int Copies = 10;

    /// <summary>Numeric columns standardised by both sides.</summary>
    public static readonly string[] Numeric =
    [
        "LIMIT_BAL", "AGE", "PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6",
        "BILL_AMT1", "BILL_AMT2", "BILL_AMT3", "BILL_AMT4", "BILL_AMT5", "BILL_AMT6",
        "PAY_AMT1", "PAY_AMT2", "PAY_AMT3", "PAY_AMT4", "PAY_AMT5", "PAY_AMT6",
    ];

    /// <summary>Integer-coded categories one-hot encoded by both sides.</summary>
    public static readonly string[] Categorical = ["SEX", "EDUCATION", "MARRIAGE"];

    /// <summary>The label column.</summary>
    public const string Label = "default.payment.next.month";

    private static readonly Lazy<CreditWorkload> s_full = new(() => new CreditWorkload(trees: 100));
    private static readonly Lazy<CreditWorkload> s_smoke = new(() => new CreditWorkload(trees: 10));

    /// <summary>The shared instance for runs of <paramref name="size"/> (smoke runs train 10 trees instead of 100).</summary>
    public static CreditWorkload For(ScenarioSize size) => size == ScenarioSize.Smoke ? s_smoke.Value : s_full.Value;

    private CreditWorkload(int trees)
    {
        Trees = trees;
        Directory = Path.Combine(Path.GetTempPath(), $"streamml-s3-{Environment.ProcessId}-{trees}");
        System.IO.Directory.CreateDirectory(Directory);
        var lines = File.ReadAllLines(SourceCsv);
        SmallCsv = Path.Combine(Directory, "credit-1x.csv");
        File.WriteAllLines(SmallCsv, lines.Take(5_001));
        LargeCsv = Path.Combine(Directory, $"credit-{Copies}x.csv");
        using (var writer = new StreamWriter(LargeCsv))
        {
            writer.WriteLine(lines[0]);
            for (var copy = 0; copy < Copies; copy++)
                foreach (var line in lines.Skip(1)) writer.WriteLine(line);
        }

        // StreamMl: the feature pipeline fitted on the original file, FastTree trained on its matrix, exported to ONNX.
        var batches = WorkloadTraining.ReadAll(SourceCsv);
        var builder = FeaturePipeline.Create("credit").StandardScale(Numeric);
        foreach (var column in Categorical) builder = builder.OneHot(column, maxCategories: 8);
        Features = builder.Build().Fit(batches);
        var labels = batches.SelectMany(b => Enumerable.Range(0, b.Length).Select(r => WorkloadTraining.Number(b[b.Schema.Require(Label)], r) > 0.5)).ToArray();
        OnnxBytes = WorkloadTraining.FastTreeOnnx(WorkloadTraining.Matrix(Features, batches), labels, Features.FeatureCount, leaves: 20, trees: trees, seed: 3);
        foreach (var batch in batches) batch.Dispose();

        // The peer: the same transforms and trainer as an ML.NET pipeline over row objects.
        MlContext = new MLContext(seed: 3);
        var rows = CsvRows(SourceCsv).ToList();
        var view = MlContext.Data.LoadFromEnumerable(rows);
        var pipeline = MlContext.Transforms.Concatenate("Numeric", Numeric.Select(PropertyName).ToArray())
            .Append(MlContext.Transforms.NormalizeMeanVariance("Numeric"))
            .Append(MlContext.Transforms.Conversion.MapValueToKey("SexKey", nameof(CreditRow.SEX)))
            .Append(MlContext.Transforms.Conversion.MapValueToKey("EducationKey", nameof(CreditRow.EDUCATION)))
            .Append(MlContext.Transforms.Conversion.MapValueToKey("MarriageKey", nameof(CreditRow.MARRIAGE)))
            .Append(MlContext.Transforms.Categorical.OneHotEncoding([new("SexHot", "SexKey"), new("EducationHot", "EducationKey"), new("MarriageHot", "MarriageKey")]))
            .Append(MlContext.Transforms.Concatenate("Features", "Numeric", "SexHot", "EducationHot", "MarriageHot"))
            .Append(MlContext.Transforms.Conversion.ConvertType("Label", nameof(CreditRow.Default), DataKind.Boolean))
            .Append(MlContext.BinaryClassification.Trainers.FastTree(numberOfLeaves: 20, numberOfTrees: trees));
        MlNetModel = pipeline.Fit(view);
    }

    /// <summary>The shared dataset.</summary>
    public static string SourceCsv => Path.Combine(HarnessProgram.RepositoryRoot(), "..", "shared", "data", "credit_default", "UCI_Credit_Card.csv");

    /// <summary>Trees of every model trained for this size.</summary>
    public int Trees { get; }

    /// <summary>Scratch folder of the scenario.</summary>
    public string Directory { get; }

    /// <summary>5,000 rows, for smoke runs.</summary>
    public string SmallCsv { get; }

    /// <summary>300,000 rows, for full runs.</summary>
    public string LargeCsv { get; }

    /// <summary>StreamMl's fitted features.</summary>
    public FeaturePipeline Features { get; }

    /// <summary>StreamMl's model.</summary>
    public byte[] OnnxBytes { get; }

    /// <summary>The peer's context.</summary>
    public MLContext MlContext { get; }

    /// <summary>The peer's fitted ML.NET pipeline (transforms + FastTree).</summary>
    public ITransformer MlNetModel { get; }

    /// <summary>Rows of a CSV as objects, read with CsvHelper.</summary>
    public static IEnumerable<CreditRow> CsvRows(string path)
    {
        using var csv = CsvReader.FromFile(path);
        foreach (var row in csv.GetRecords<CreditRow>()) yield return row;
    }

    private static string PropertyName(string column) => column;

    /// <summary>Deletes the scratch folder.</summary>
    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

}

/// <summary>A credit-default row as a CsvHelper user maps it (CsvHelper 34's source-generated mapping).</summary>
[CsvRecord]
public sealed partial class CreditRow
{
#pragma warning disable CS1591 // one property per CSV column, named as in the file
    public float ID { get; set; }
    public float LIMIT_BAL { get; set; }
    public float SEX { get; set; }
    public float EDUCATION { get; set; }
    public float MARRIAGE { get; set; }
    public float AGE { get; set; }
    public float PAY_0 { get; set; }
    public float PAY_2 { get; set; }
    public float PAY_3 { get; set; }
    public float PAY_4 { get; set; }
    public float PAY_5 { get; set; }
    public float PAY_6 { get; set; }
    public float BILL_AMT1 { get; set; }
    public float BILL_AMT2 { get; set; }
    public float BILL_AMT3 { get; set; }
    public float BILL_AMT4 { get; set; }
    public float BILL_AMT5 { get; set; }
    public float BILL_AMT6 { get; set; }
    public float PAY_AMT1 { get; set; }
    public float PAY_AMT2 { get; set; }
    public float PAY_AMT3 { get; set; }
    public float PAY_AMT4 { get; set; }
    public float PAY_AMT5 { get; set; }
    public float PAY_AMT6 { get; set; }
    [CsvColumn("default.payment.next.month")]
    public float Default { get; set; }
#pragma warning restore CS1591
}

/// <summary>What the peer writes to Parquet: the row's id and its score.</summary>
public sealed class ScoredCredit
{
    /// <summary>Row id.</summary>
    public float ID { get; set; }

    /// <summary>Default probability.</summary>
    public float Probability { get; set; }
}

/// <summary>ML.NET's output row.</summary>
public sealed class CreditPrediction
{
    /// <summary>Default probability.</summary>
    public float Probability { get; set; }
}
