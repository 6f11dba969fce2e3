using StreamMl.Engine;
using StreamMl.Recommendations.Pipelines;

namespace StreamMl.Recommendations.Tests;

/// <summary>The pipeline operator feeding recommenders from column batches.</summary>
public sealed class InteractionOperatorTests
{
    [Fact]
    public void String_ids_are_mapped_null_users_go_to_dead_letters_and_every_recommender_learns_the_rest()
    {
        var schema = new Schema(new Field("user", ColumnType.String), new Field("sku", ColumnType.String),
            new Field("ts", ColumnType.Timestamp), new Field("rating", ColumnType.Float64), new Field("category", ColumnType.String));
        using var batch = new ColumnBatch(schema, 8);
        string?[] users = ["ann", "bob", "ann", null, "bob"];
        string[] skus = ["A", "B", "C", "A", "A"];
        for (var row = 0; row < users.Length; row++)
        {
            if (users[row] is { } user) batch[0].Values<int>()[row] = batch[0].Dictionary!.GetOrAdd(user);
            else batch[0].SetNull(row);
            batch[1].Values<int>()[row] = batch[1].Dictionary!.GetOrAdd(skus[row]);
            batch[2].Values<long>()[row] = RandomInteractions.Start + row;
            batch[3].Values<double>()[row] = row + 1;
            batch[4].Values<int>()[row] = batch[4].Dictionary!.GetOrAdd(skus[row] == "C" ? "books" : "games");
        }
        batch.Length = users.Length;
        var popularity = new PopularityRecommender(new RecommenderOptions { PopularityHalfLife = null });
        var knn = new ItemKnnRecommender();
        var op = new InteractionOperator(new InteractionColumns { User = "user", Item = "sku", Time = "ts", Weight = "rating", Category = "category" }, popularity, knn);
        var context = StageContext.Standalone("interactions");

        Assert.Same(schema, op.Bind(schema));
        op.Process(batch, context);

        Assert.Equal(1, context.RowsRejected);
        Assert.Equal(4, op.Rows);
        Assert.Equal(4, knn.Stats.Applied);
        Assert.True(op.UserIds.TryGet("ann", out var ann));
        var results = new ScoredItem[3];
        var answer = popularity.Recommend(-1, 3, null, results);
        // A: rows 1 and 5 (weights 1 + 5; row 4 is rejected), B: row 2 (2), C: row 3 (3).
        Assert.Equal(["A", "C", "B"], results.Take(answer.Count).Select(r => op.ItemIds.NameOf(r.Item)));
        Assert.Equal([6f, 3f, 2f], results.Take(answer.Count).Select(r => r.Score));
        var books = popularity.Recommend(-1, 3, new RecommendRequest { Category = (int)op.CategoryIds.GetOrAdd("books") }, results);
        Assert.Equal("C", op.ItemIds.NameOf(Assert.Single(results.Take(books.Count)).Item));
        var forAnn = knn.Recommend(ann, 3, null, results);
        Assert.Equal("B", op.ItemIds.NameOf(Assert.Single(results.Take(forAnn.Count)).Item)); // ann saw A and C
    }

    [Fact]
    public void A_missing_or_mistyped_column_is_named_when_the_pipeline_is_built()
    {
        var op = new InteractionOperator(new InteractionColumns { User = "user", Item = "item", Weight = "w" }, new PopularityRecommender());
        var missing = Assert.Throws<SchemaMismatchException>(() => op.Bind(new Schema(new Field("user", ColumnType.Int64))));
        Assert.Contains("column 'item' is not in the schema", missing.Message);
        var mistyped = Assert.Throws<SchemaMismatchException>(() => op.Bind(new Schema(
            new Field("user", ColumnType.Int64), new Field("item", ColumnType.Int64), new Field("w", ColumnType.Bool))));
        Assert.Equal("the weight column 'w' is bool; it must be float32 or float64 or int32 or int64", mistyped.Message);
    }
}
