using StreamMl.Connectors.Files;
using StreamMl.Connectors.Tests.Delivery;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Files;

/// <summary>A quote that is never closed in the last field keeps the field count right, yet still swallows the file.</summary>
public sealed class UnclosedQuoteInLastFieldTests
{
    [Fact]
    public async Task AQuoteNeverClosedInTheLastField_DeadLettersItsLineAndKeepsTheRest()
    {
        var path = Path.Combine(TestData.TempDir(), "last.csv");
        File.WriteAllText(path, "id,name\n1,alice\n2,\"never closed\n3,carol\n4,dave\n");
        var options = new FileSourceOptions { Schema = SchemaText.Parse("id:int64,name:string") };
        options.Paths.Add(path);
        var source = FileSource.Create(options);
        var sink = new CollectingSink();
        var dead = new CollectingDeadLetterSink();
        await using (var pipeline = Pipeline.From(source, new PipelineOptions { DeadLetters = dead }).To(sink).Build())
            await pipeline.RunAsync();
        Assert.Equal(["1", "3", "4"], sink.Rows.Select(r => r.Get("id")).Order(StringComparer.Ordinal));
        var letter = Assert.Single(dead.Letters);
        Assert.Equal(("csv-quote", 3L), (letter.Rule, letter.Offset));
    }
}
