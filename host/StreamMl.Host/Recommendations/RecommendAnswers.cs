using System.Buffers;
using System.Globalization;
using StreamMl.Host.Pipelines;
using StreamMl.Recommendations;
using StreamMl.Recommendations.Pipelines;
using StreamMl.Recommendations.Serving;
using Proto = StreamMl.Host.Protos;

namespace StreamMl.Host.Recommendations;

/// <summary>Turns Recommend requests into calls of the pipeline's <see cref="RecommendationServer"/> and its answers into
/// responses; the Recommendations gRPC service and in-process callers share it. Composes only: the models, the A/B
/// split and the metrics live in StreamMl.Recommendations.</summary>
internal static class RecommendAnswers
{
    private static readonly RecommendRequest IncludeSeen = new() { ExcludeSeen = false };

    /// <summary>The state of <paramref name="pipeline"/>'s recommend section; a pipeline without one is refused.</summary>
    public static RecommendState StateOf(ManagedPipeline pipeline) =>
        pipeline.Runtime.Recommend ?? throw new ArgumentException(
            $"pipeline '{pipeline.Name}' does not recommend: add a 'recommend' section (user and item columns, models) to its spec");

    public static Proto.RecommendResponse Answer(ManagedPipeline pipeline, Proto.RecommendRequest request)
    {
        var state = StateOf(pipeline);
        var server = state.Server;
        var k = request.HasK ? request.K : state.Settings.DefaultK;
        if (k < 1 || k > server.Options.MaxK)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"Recommend: k must be between 1 and {server.Options.MaxK} (the pipeline's recommend.max_k), got {k}"));
        var variant = -1;
        if (request.Variant.Length > 0 && (variant = server.IndexOf(request.Variant)) < 0)
            throw new ArgumentException(
                $"Recommend: pipeline '{pipeline.Name}' has no variant {Hosting.SafeText.Quote(request.Variant)}; variants: {string.Join(", ", server.Variants.Select(v => v.Name))}");
        var library = state.Library;
        var filters = Filters(library, request);
        var buffer = ArrayPool<ScoredItem>.Shared.Rent(k);
        try
        {
            var served = request.UserId.Length > 0
                ? library.Recommend(request.UserId, k, filters, buffer, variant)
                : library.Recommend(request.User, k, filters, buffer, variant);
            var chosen = server.Variants[served.Variant];
            var response = new Proto.RecommendResponse
            {
                Pipeline = pipeline.Name,
                User = request.User,
                UserId = request.UserId.Length > 0 ? request.UserId : request.User.ToString(CultureInfo.InvariantCulture),
                Variant = chosen.Name,
                Model = chosen.Recommender.Name,
                Fallback = served.Result.IsFallback,
                Source = SourceName(served.Result.Source),
            };
            var numericItems = !library.Interactions.ItemsAreStrings;
            for (var i = 0; i < served.Result.Count; i++)
                response.Items.Add(new Proto.RecommendedItem
                {
                    Item = numericItems ? buffer[i].Item : 0, Score = buffer[i].Score, ItemId = library.ItemName(buffer[i].Item),
                });
            return response;
        }
        finally
        {
            ArrayPool<ScoredItem>.Shared.Return(buffer);
        }
    }

    private static RecommendRequest? Filters(RecommendationState library, Proto.RecommendRequest request)
    {
        if (request.AllowedItems.Count == 0 && request.AllowedItemIds.Count == 0 && !request.HasCategory) return request.IncludeSeen ? IncludeSeen : null;
        HashSet<long>? allowed = null;
        if (request.AllowedItems.Count > 0 || request.AllowedItemIds.Count > 0)
        {
            allowed = [];
            // Numbers name items as the events do: for a string item column 17 is the item "17", not an internal id.
            foreach (var item in request.AllowedItems)
                allowed.Add(library.Interactions.ItemsAreStrings ? AllowedItem(library, item.ToString(CultureInfo.InvariantCulture), "allowed_items") : item);
            foreach (var item in request.AllowedItemIds) allowed.Add(AllowedItem(library, item, "allowed_item_ids"));
        }
        return new RecommendRequest
        {
            AllowedItems = allowed,
            Category = request.HasCategory ? request.Category : null,
            ExcludeSeen = !request.IncludeSeen,
        };
    }

    private static long AllowedItem(RecommendationState library, string item, string field)
    {
        try
        {
            return library.ItemId(item);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"Recommend: {field}: {ex.Message}");
        }
    }

    public static string SourceName(RecommendationSource source) => source switch
    {
        RecommendationSource.Model => "model",
        RecommendationSource.PopularityUnknownUser => "unknown-user",
        RecommendationSource.PopularityModelNotReady => "model-not-ready",
        _ => source.ToString().ToLowerInvariant(),
    };

    /// <summary>Per-variant metrics and each variant's comparison with the first, for GetMetrics.</summary>
    public static void AddMetrics(RecommendState state, Proto.MetricsReport report)
    {
        var server = state.Server;
        var metrics = server.Metrics();
        var summary = server.Summarize();
        for (var i = 0; i < metrics.Count; i++)
        {
            var m = metrics[i];
            report.RecommendVariants.Add(new Proto.RecommendVariantMetrics
            {
                Variant = m.Variant,
                Model = m.Model,
                Share = m.Share,
                Requests = m.Requests,
                Fallbacks = m.Fallbacks,
                Clicked = m.Clicked,
                ClickThroughRate = Finite(m.ClickThroughRate),
                Resolved = m.Resolved,
                Hits = m.Hits,
                HitRate = Finite(m.HitRate),
                DistinctItems = m.DistinctItems,
                Coverage = m.Coverage,
                LatencyP50Us = m.LatencyP50Us,
                LatencyP90Us = m.LatencyP90Us,
                LatencyP99Us = m.LatencyP99Us,
                LatencyMaxUs = m.LatencyMaxUs,
                Users = m.Users,
                ClickThroughLow = Finite(summary.Variants[i].ClickThrough.Low),
                ClickThroughHigh = Finite(summary.Variants[i].ClickThrough.High),
                HitRateLow = Finite(summary.Variants[i].HitRate.Low),
                HitRateHigh = Finite(summary.Variants[i].HitRate.High),
            });
        }
        for (var i = 1; i < metrics.Count; i++)
        {
            var ctr = server.CompareClickThrough(0, i);
            var hits = server.CompareHitRate(0, i);
            report.RecommendComparisons.Add(new Proto.RecommendComparison
            {
                Baseline = metrics[0].Variant,
                Variant = metrics[i].Variant,
                CtrZ = ctr.Z,
                CtrPValue = ctr.PValue,
                HitRateZ = hits.Z,
                HitRatePValue = hits.PValue,
            });
        }
    }

    private static double Finite(double value) => double.IsNaN(value) ? 0 : value;
}
