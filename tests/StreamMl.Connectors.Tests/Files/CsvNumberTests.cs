using System.Globalization;
using StreamMl.Connectors.Files;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Files;

/// <summary>The CSV reader's direct number parsing agrees with .NET's invariant parsers, and leaves null tokens
/// (including numeric sentinels) and unusual spellings to the general path.</summary>
public sealed class CsvNumberTests
{
    private static ColumnBatch Read(string csv, Schema schema, Action<FileSourceOptions>? configure = null)
    {
        var path = Path.Combine(TestData.TempDir(), "numbers.csv");
        File.WriteAllText(path, csv);
        var options = new FileSourceOptions { Schema = schema };
        options.Paths.Add(path);
        configure?.Invoke(options);
        var source = FileSource.Create(options);
        source.OpenAsync(new SourceContext("t", new CollectingDeadLetterSink()), default).AsTask().GetAwaiter().GetResult();
        var batch = new ColumnBatch(schema, 64);
        source.FillAsync(batch, default).AsTask().GetAwaiter().GetResult();
        return batch;
    }

    private static readonly HashSet<string> s_nulls = ["NaN", "na", "", "-999"];

    [Fact]
    public void Floats_MatchTheInvariantParsers_AndNullTokensStayNull()
    {
        var texts = new[] { "0", "-7", "+7", " 12 ", "1e+05", "3.0", "123456789012345678", ".5", "-.25", "6.02e23", "NaN", "na", "", "-999" };
        var schema = SchemaText.Parse("d:float64,f:float32");
        var batch = Read("d,f\n" + string.Concat(texts.Select(t => $"\"{t}\",\"{t}\"\n")), schema, o => o.NullTokens.Add("-999"));
        Assert.Equal(texts.Length, batch.Length);
        for (var row = 0; row < texts.Length; row++)
        {
            var text = texts[row].Trim();
            Assert.Equal(!s_nulls.Contains(text), batch[0].IsValid(row));
            Assert.Equal(!s_nulls.Contains(text), batch[1].IsValid(row));
            if (s_nulls.Contains(text)) continue;
            Assert.Equal(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture), batch[0].Values<double>()[row]);
            Assert.Equal(float.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture), batch[1].Values<float>()[row]);
        }
    }

    [Fact]
    public void Integers_MatchTheInvariantParsers_WholeNumbersInOtherSpellingsIncluded()
    {
        var texts = new[] { "0", "-7", "+7", " 12 ", "1e+05", "3.0", "123456789012345678", "-123456789012345678", "9223372036854775807", "-999", "na" };
        var expected = new long?[] { 0, -7, 7, 12, 100_000, 3, 123456789012345678, -123456789012345678, long.MaxValue, null, null };
        var batch = Read("l\n" + string.Concat(texts.Select(t => $"\"{t}\"\n")), SchemaText.Parse("l:int64"), o => o.NullTokens.Add("-999"));
        Assert.Equal(expected, Enumerable.Range(0, batch.Length).Select(r => batch[0].IsValid(r) ? batch[0].Values<long>()[r] : (long?)null));
    }

    [Fact]
    public async Task IntegersOutOfRange_AreTypeErrors_NotWrappedValues()
    {
        var schema = SchemaText.Parse("i:int32");
        var dead = new CollectingDeadLetterSink();
        var path = Path.Combine(TestData.TempDir(), "wide.csv");
        File.WriteAllText(path, "i\n2147483647\n2147483648\n-2147483648\n-2147483649\n");
        var options = new FileSourceOptions { Schema = schema };
        options.Paths.Add(path);
        var source = FileSource.Create(options);
        await source.OpenAsync(new SourceContext("t", dead), default);
        using var batch = new ColumnBatch(schema, 16);
        await source.FillAsync(batch, default);
        Assert.Equal([int.MaxValue, int.MinValue], batch[0].Values<int>()[..batch.Length].ToArray());
        Assert.Equal([3L, 5L], dead.Letters.Select(l => l.Offset).Order());
        Assert.All(dead.Letters, l => Assert.Equal("type", l.Rule));
    }
}
