using System.Diagnostics;

namespace StreamMl.Recommendations.Serving;

/// <summary>Serves recommendations from several models in an A/B test: each user meets one variant (by
/// <see cref="VariantSplit"/>, or the one a request names), every answer is an impression that the interactions after it
/// are joined to, and per-variant metrics (CTR, hit rate at k, coverage, latency) are kept. Feed it the interaction
/// stream with <see cref="Observe(InteractionBatch)"/> after the recommenders have learnt from it. Thread-safe.</summary>
public sealed class RecommendationServer
{
    private readonly RecommendationVariant[] _variants;
    private readonly VariantSplit _split;
    private readonly FeedbackJoin _feedback;
    private readonly LatencyHistogram[] _latency;
    private readonly long[] _fallbacks;
    private FeedbackObserver? _observer;

    /// <summary>Creates a server over <paramref name="variants"/> (unique names, weights as in <see cref="VariantSplit"/>).</summary>
    public RecommendationServer(IReadOnlyList<RecommendationVariant> variants, ServingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(variants);
        Options = options ?? new ServingOptions();
        if (Options.MaxK < 1) throw new ArgumentException($"the largest k must be at least 1, got {Options.MaxK}");
        if (Options.FeedbackHorizon <= TimeSpan.Zero) throw new ArgumentException($"the feedback horizon must be positive, got {Options.FeedbackHorizon}");
        if (variants.Count == 0) throw new ArgumentException("a recommendation server needs at least one variant");
        var duplicate = variants.GroupBy(v => v.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"variant '{duplicate.Key}' is named twice; variant names must differ");
        _variants = [.. variants];
        _split = new VariantSplit([.. variants.Select(v => v.Weight)]);
        _feedback = new FeedbackJoin(_variants.Length, Options.FeedbackHorizon, Options.Time);
        _latency = [.. _variants.Select(_ => new LatencyHistogram())];
        _fallbacks = new long[_variants.Length];
    }

    /// <summary>A pseudo-recommender to pass to <see cref="Pipelines.InteractionOperator"/> after the models: it joins every
    /// interaction the operator reads to the impression its user was served.</summary>
    public IRecommender FeedbackObserver => _observer ??= new FeedbackObserver(this);

    /// <summary>The settings in use.</summary>
    public ServingOptions Options { get; }

    /// <summary>The variants, in the order their traffic shares are laid out.</summary>
    public IReadOnlyList<RecommendationVariant> Variants => _variants;

    /// <summary>The traffic split between <see cref="Variants"/>.</summary>
    public VariantSplit Split => _split;

    /// <summary>The index of the variant named <paramref name="name"/>, or -1.</summary>
    public int IndexOf(string name)
    {
        for (var i = 0; i < _variants.Length; i++) if (string.Equals(_variants[i].Name, name, StringComparison.Ordinal)) return i;
        return -1;
    }

    /// <summary>Writes the top <paramref name="k"/> items for <paramref name="user"/> to <paramref name="results"/> from
    /// the user's variant, or from <paramref name="variant"/> when it is 0 or more, and records the impression and the
    /// time it took. Throws <see cref="ArgumentException"/> with a message for the caller when k is outside
    /// [1, <see cref="ServingOptions.MaxK"/>] or <paramref name="variant"/> names no variant.</summary>
    public ServedRecommendation Recommend(long user, int k, RecommendRequest? request, Span<ScoredItem> results, int variant = -1)
    {
        if (k < 1 || k > Options.MaxK) ThrowBadK(k, Options.MaxK);
        if (variant >= _variants.Length) throw new ArgumentException($"there is no variant {variant}; this server has {_variants.Length}");
        if (results.Length < k) throw new ArgumentException($"the results span holds {results.Length} items, fewer than k = {k}");
        var start = Stopwatch.GetTimestamp();
        var chosen = variant >= 0 ? variant : _split.Assign(user);
        var result = _variants[chosen].Recommender.Recommend(user, k, request, results);
        _feedback.Served(user, chosen, results[..result.Count]);
        if (result.IsFallback) Interlocked.Increment(ref _fallbacks[chosen]);
        _latency[chosen].Record((Stopwatch.GetTimestamp() - start) * 1_000_000 / Stopwatch.Frequency);
        return new ServedRecommendation(chosen, result);
    }

    /// <summary>Joins one interaction to the impression its user was served.</summary>
    public void Observe(in Interaction interaction) => _feedback.Interacted(interaction.User, interaction.Item);

    /// <summary>Joins a batch of interactions, in row order.</summary>
    public void Observe(InteractionBatch batch) => _feedback.Interacted(batch.Users, batch.Items);

    /// <summary>Every variant's metrics now.</summary>
    public IReadOnlyList<VariantMetrics> Metrics()
    {
        var metrics = new VariantMetrics[_variants.Length];
        for (var i = 0; i < metrics.Length; i++)
        {
            var (impressions, clicked, resolved, hits, distinct, users) = _feedback.Read(i);
            var latency = _latency[i];
            metrics[i] = new VariantMetrics(_variants[i].Name, _variants[i].Recommender.Name, _split.Share(i), impressions,
                Interlocked.Read(ref _fallbacks[i]), clicked, resolved, hits, distinct, _variants[i].Recommender.Stats.Items,
                latency.Percentile(50), latency.Percentile(90), latency.Percentile(99), latency.MaxMicros, users);
        }
        return metrics;
    }

    /// <summary>Two-proportion z-test of the click-through rates of variants <paramref name="a"/> and <paramref name="b"/>.</summary>
    public ProportionComparison CompareClickThrough(int a, int b)
    {
        var (impressionsA, clickedA, _, _, _, _) = _feedback.Read(a);
        var (impressionsB, clickedB, _, _, _, _) = _feedback.Read(b);
        return SignificanceTest.TwoProportions(clickedA, impressionsA, clickedB, impressionsB);
    }

    /// <summary>Two-proportion z-test of the hit rates at k of variants <paramref name="a"/> and <paramref name="b"/>.</summary>
    public ProportionComparison CompareHitRate(int a, int b)
    {
        var (_, _, resolvedA, hitsA, _, _) = _feedback.Read(a);
        var (_, _, resolvedB, hitsB, _, _) = _feedback.Read(b);
        return SignificanceTest.TwoProportions(hitsA, resolvedA, hitsB, resolvedB);
    }

    /// <summary>The A/B test now as plain values for a report: per variant its users, impressions, click-through and hit
    /// rate, each with a Wilson score interval at <paramref name="confidence"/> and a two-proportion z-test against the
    /// first variant (the baseline).</summary>
    public AbTestSummary Summarize(double confidence = 0.95)
    {
        if (!(confidence > 0 && confidence < 1)) throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "the confidence level must lie strictly between 0 and 1");
        var metrics = Metrics();
        var variants = new VariantSummary[metrics.Count];
        for (var i = 0; i < metrics.Count; i++)
        {
            var m = metrics[i];
            var ctr = i == 0 ? new ProportionComparison(m.ClickThroughRate, m.ClickThroughRate, 0, 1) : CompareClickThrough(0, i);
            var hits = i == 0 ? new ProportionComparison(m.HitRate, m.HitRate, 0, 1) : CompareHitRate(0, i);
            variants[i] = new VariantSummary(m.Variant, m.Model, m.Share, m.Users, m.Requests,
                RateEstimate.Of(m.Clicked, m.Requests, confidence, ctr),
                RateEstimate.Of(m.Hits, m.Resolved, confidence, hits));
        }
        return new AbTestSummary(Options.Time.GetUtcNow(), confidence, _variants[0].Name, variants);
    }

    /// <summary>Writes the online metrics that an A/B test accumulates (impressions, clicks, hits, distinct users and items,
    /// fallbacks, open impressions) so a restart continues the test; latencies belong to the process and are not kept.</summary>
    public void Snapshot(Stream destination)
    {
        using var writer = new BinaryWriter(destination, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(_variants.Length);
        foreach (var variant in _variants) writer.Write(variant.Name);
        foreach (ref readonly var fallbacks in _fallbacks.AsSpan()) writer.Write(Interlocked.Read(in fallbacks));
        _feedback.Snapshot(writer);
    }

    /// <summary>Replaces the online metrics with those written by <see cref="Snapshot"/> of a server with the same
    /// variants; throws <see cref="InvalidDataException"/> when the variants differ.</summary>
    public void Restore(Stream source)
    {
        using var reader = new BinaryReader(source, System.Text.Encoding.UTF8, leaveOpen: true);
        var count = reader.ReadInt32();
        var names = new string[Math.Max(0, count)];
        for (var i = 0; i < names.Length; i++) names[i] = reader.ReadString();
        if (!names.SequenceEqual(_variants.Select(v => v.Name), StringComparer.Ordinal))
            throw new InvalidDataException($"its A/B variants are {string.Join(", ", names)} and this server's are {string.Join(", ", _variants.Select(v => v.Name))}");
        for (var i = 0; i < _fallbacks.Length; i++) Interlocked.Exchange(ref _fallbacks[i], reader.ReadInt64());
        _feedback.Restore(reader);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void ThrowBadK(int k, int max) =>
        throw new ArgumentException(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"k must be between 1 and {max}, got {k}"));
}
