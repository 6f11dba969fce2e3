using System.Globalization;
using Parquet;
using Parquet.Schema;
using StreamMl.Engine;
using StreamMl.Operators.Learners;

namespace StreamMl.Host.Training;

/// <summary>Writes <c>evaluate</c>'s predictions: one row per scored row with its file line, score (the probability of
/// the positive class, the value, or the arg-max class's probability) and prediction (the class name, or the value), as
/// CSV or Parquet. The file appears complete or not at all (written to a temporary name, then renamed).</summary>
internal static class PredictionsWriter
{
    /// <summary>"csv", "parquet", or null for another extension.</summary>
    public static string? FormatOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".csv" => "csv",
        ".parquet" => "parquet",
        _ => null,
    };

    /// <summary>Writes the file and returns the rows written.</summary>
    public static async Task<int> WriteAsync(string path, StreamingEvaluator.Result result, LearningTask task, string[]? classes,
        CancellationToken cancellationToken)
    {
        var format = FormatOf(path) ?? throw new StreamMlException($"{path}: use a .csv or .parquet file name");
        var predictions = result.Predictions.Select(p => task == LearningTask.Regression
            ? p.ToString("R", CultureInfo.InvariantCulture)
            : classes![(int)p]).ToArray();
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var temp = Path.Combine(folder, $".{Path.GetFileName(path)}-{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(folder);
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                if (format == "csv")
                {
                    await using var writer = new StreamWriter(stream, leaveOpen: true);
                    await writer.WriteLineAsync("line,score,prediction");
                    for (var i = 0; i < predictions.Length; i++)
                        await writer.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                            $"{result.Lines[i]},{result.Scores[i]:R},{Quote(predictions[i])}"));
                }
                else
                {
                    var line = new DataField<long>("line");
                    var score = new DataField<float>("score");
                    var prediction = new DataField<string>("prediction");
                    await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(line, score, prediction), stream, cancellationToken: cancellationToken);
                    using var group = writer.CreateRowGroup();
                    await group.WriteAsync(line, (ReadOnlyMemory<long>)result.Lines, null, null, cancellationToken);
                    await group.WriteAsync(score, (ReadOnlyMemory<float>)result.Scores, null, null, cancellationToken);
                    await group.WriteAsync(prediction, new ArraySegment<string>(predictions), null);
                    group.CompleteValidate();
                }
                await stream.FlushAsync(cancellationToken);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The OS's reason (no such folder, permission denied, a folder of that name) in its words, without a trace.
            throw new StreamMlException($"cannot write the predictions to {path}: {e.Message}", e);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        return predictions.Length;
    }

    private static string Quote(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
