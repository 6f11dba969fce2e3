using StreamMl.Engine;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Specs;
using StreamMl.Recommendations;
using StreamMl.Recommendations.Pipelines;
using StreamMl.Recommendations.Serving;

namespace StreamMl.Host.Recommendations;

/// <summary>Reads a spec's <c>recommend</c> section: which columns hold the interactions, the models, the A/B variants
/// and the serving settings. The stage it creates feeds the pipeline's rows to every model; the Recommendations gRPC
/// service answers from them.</summary>
/// <remarks><code>
/// recommend:
///   user: user_id                # int32, int64 or string column
///   item: item_id
///   time: ts                     # optional (timestamp or int64 µs); default the row's event time
///   weight: rating               # optional; default 1 per event
///   category: genre              # optional (int32 or string)
///   k: 10                        # default k of a request
///   max_k: 1000
///   profile: { capacity: 200, half_life: 3m, max_lateness: 720h }   # 'none' keeps weights undecayed
///   popularity_half_life: 168h
///   max_items: 1000000
///   models:
///     - { name: pop, kind: popularity }
///     - { name: knn, kind: itemknn, neighbours: 100, window: 10 }
///     - { name: ease, kind: ease, lambda: 500, refit_every: 10000, max_model_items: 20000 }
///   variants:                    # default: one per model, equal weights
///     - { name: A, model: knn, weight: 50 }
///     - { name: B, model: ease, weight: 50 }
///   feedback_horizon: 30m
///   checkpoint: state/recs.snapshot
/// </code></remarks>
internal static class RecommendSection
{
    public const string Name = "recommend";

    private static readonly string[] ModelKinds = ["popularity", "itemknn", "ease"];

    public static Func<PipelineRuntime, IBatchOperator>? Read(SpecNode node, SpecContext context)
    {
        if (!node.IsMapping)
        {
            node.Error("'recommend' must be a mapping, e.g. { user: user_id, item: item_id, models: [ { name: pop, kind: popularity } ] }");
            return null;
        }
        var columns = new InteractionColumns
        {
            User = node.String("user", required: true) ?? "",
            Item = node.String("item", required: true) ?? "",
            Time = node.String("time"),
            Weight = node.String("weight"),
            Category = node.String("category"),
        };
        var maxK = node.Int("max_k", min: 1, max: 100_000) ?? 1000;
        var k = node.Int("k", min: 1, max: maxK) ?? Math.Min(10, maxK);
        // Unset values keep the library's defaults (RecommenderOptions documents them).
        var defaults = new RecommenderOptions();
        var capacity = defaults.ProfileCapacity;
        var profileHalfLife = defaults.ProfileHalfLife;
        var lateness = defaults.MaxLateness;
        if (node.Child("profile") is { } profile)
        {
            capacity = profile.Int("capacity", min: 1, max: 1_000_000) ?? capacity;
            profileHalfLife = HalfLife(profile, "half_life", profileHalfLife);
            lateness = profile.Duration("max_lateness") ?? lateness;
            profile.RejectUnknownKeys("recommend.profile");
        }
        var popularityHalfLife = HalfLife(node, "popularity_half_life", defaults.PopularityHalfLife);
        var maxItems = node.Int("max_items", min: 1, max: 100_000_000) ?? defaults.MaxItems;
        var models = new List<RecommendModel>();
        if (node.Child("models") is not { } modelList) node.Error("'recommend.models' is required: list at least one model, e.g. - { name: pop, kind: popularity }");
        else
        {
            foreach (var item in modelList.Items())
            {
                if (ReadModel(item, capacity, profileHalfLife, popularityHalfLife, lateness, maxItems) is not { } model) continue;
                if (models.Any(m => m.Name == model.Name)) item.Error($"model '{model.Name}' is named twice in 'recommend.models'");
                else models.Add(model);
            }
            if (modelList.IsSequence && modelList.Items().Count == 0) modelList.Error("'recommend.models' must list at least one model");
        }
        var variants = new List<RecommendVariant>();
        if (node.Child("variants") is { } variantList)
        {
            foreach (var item in variantList.Items())
            {
                var name = item.String("name", required: true);
                var model = item.String("model", required: true);
                var weight = item.Double("weight", min: 0) ?? 1;
                item.RejectUnknownKeys($"{item.Path}");
                if (name is null || model is null) continue;
                if (models.Count > 0 && models.All(m => m.Name != model))
                    item.Child("model")!.Error($"variant '{name}' serves model '{model}', which 'recommend.models' does not name; models: {string.Join(", ", models.Select(m => m.Name))}");
                else if (variants.Any(v => v.Name == name)) item.Error($"variant '{name}' is named twice in 'recommend.variants'");
                else variants.Add(new RecommendVariant(name, model, weight));
            }
            if (variants.Count > 0 && variants.Sum(v => v.Weight) <= 0) variantList.Error("at least one variant needs a positive weight");
        }
        else variants.AddRange(models.Select(m => new RecommendVariant(m.Name, m.Name, 1)));
        var horizon = node.Duration("feedback_horizon") ?? TimeSpan.FromMinutes(30);
        if (horizon <= TimeSpan.Zero) node.Child("feedback_horizon")!.Error("'recommend.feedback_horizon' must be positive");
        var checkpoint = node.String("checkpoint") is { } path ? context.ResolvePath(path) : null;
        node.RejectUnknownKeys("recommend");
        if (columns.User.Length == 0 || columns.Item.Length == 0 || models.Count == 0 || variants.Count == 0 || context.Errors.Any) return null;

        var settings = new RecommendSettings
        {
            Columns = columns,
            Models = models,
            Variants = variants,
            DefaultK = k,
            Serving = new ServingOptions { MaxK = maxK, FeedbackHorizon = horizon },
            CheckpointPath = checkpoint,
        };
        return runtime =>
        {
            runtime.Recommend ??= RecommendState.Create(settings);
            return runtime.Recommend.Stage();
        };
    }

    private static TimeSpan? HalfLife(SpecNode node, string key, TimeSpan? fallback)
    {
        if (node.String(key) is "none" or "off") return null;
        var value = node.Duration(key) ?? fallback;
        if (value is { } v && v <= TimeSpan.Zero) node.Child(key)!.Error($"'{node.Path}.{key}' must be positive, or 'none' to keep weights undecayed");
        return value;
    }

    private static RecommendModel? ReadModel(SpecNode item, int capacity, TimeSpan? profileHalfLife, TimeSpan? popularityHalfLife,
        TimeSpan lateness, int maxItems)
    {
        if (!item.IsMapping)
        {
            item.Error($"'{item.Path}' must be a mapping such as {{ name: knn, kind: itemknn }}");
            return null;
        }
        var name = item.String("name", required: true);
        var kind = item.Choice("kind", ModelKinds, required: true);
        Func<IRecommender>? create = null;
        switch (kind)
        {
            case "popularity":
                create = () => new PopularityRecommender(new RecommenderOptions
                {
                    ProfileCapacity = capacity, ProfileHalfLife = profileHalfLife, PopularityHalfLife = popularityHalfLife,
                    MaxLateness = lateness, MaxItems = maxItems,
                });
                break;
            case "itemknn":
                var neighbours = item.Int("neighbours", min: 1, max: 10_000) ?? 100;
                var window = item.Int("window", min: 1, max: 100_000) ?? 10;
                create = () => new ItemKnnRecommender(new ItemKnnOptions
                {
                    ProfileCapacity = capacity, ProfileHalfLife = profileHalfLife, PopularityHalfLife = popularityHalfLife,
                    MaxLateness = lateness, MaxItems = maxItems, MaxNeighbours = neighbours, CoOccurrenceWindow = window,
                });
                break;
            case "ease":
                var lambda = item.Double("lambda", min: 1e-6) ?? 500;
                var refitEvery = item.Int("refit_every", min: 0) ?? 10_000;
                var modelItems = item.Int("max_model_items", min: 1, max: 50_000) ?? 20_000;
                create = () => new EaseRecommender(new EaseOptions
                {
                    ProfileCapacity = capacity, ProfileHalfLife = profileHalfLife, PopularityHalfLife = popularityHalfLife,
                    MaxLateness = lateness, MaxItems = maxItems, Lambda = (float)lambda, RefitEveryEvents = refitEvery,
                    MaxModelItems = modelItems,
                });
                break;
        }
        item.RejectUnknownKeys($"{item.Path} ({kind ?? "model"})");
        return name is null || create is null ? null : new RecommendModel(name, create);
    }
}
