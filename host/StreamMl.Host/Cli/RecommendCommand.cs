using System.CommandLine;
using System.Text.Json;
using StreamMl.Engine;
using StreamMl.Recommendations.Evaluation;

namespace StreamMl.Host.Cli;

/// <summary><c>streamml recommend evaluate</c>: offline evaluation of the recommenders on a file of interactions,
/// printed as JSON. The evaluation itself is <see cref="RecommenderEvaluation"/> in StreamMl.Recommendations.</summary>
internal static class RecommendCommand
{
    public static Command Create()
    {
        var interactions = new Option<string>("--interactions") { Description = "Delimited file of interactions", Required = true };
        var user = new Option<string>("--user") { Description = "User id column (name, or 1-based number without a header)", Required = true };
        var item = new Option<string>("--item") { Description = "Item id column", Required = true };
        var time = new Option<string>("--time") { Description = "Event time column (Unix seconds or ISO 8601)", Required = true };
        var rating = new Option<string?>("--rating") { Description = "Rating column, used as the event weight" };
        var format = new Option<string>("--format") { Description = "csv or tsv (default: tsv for .tsv/.data files, else csv)" };
        format.AcceptOnlyFromAmong("csv", "tsv");
        var noHeader = new Option<bool>("--no-header") { Description = "The file has no header line; columns are numbers" };
        var k = new Option<int>("--k") { Description = "Recommendations per list", DefaultValueFactory = _ => 10 };
        var protocol = new Option<string>("--protocol") { Description = "leave-last-out or prequential", DefaultValueFactory = _ => "leave-last-out" };
        protocol.AcceptOnlyFromAmong([.. RecommenderEvaluation.Protocols]);
        var models = new Option<string>("--models") { Description = "Comma-separated models", DefaultValueFactory = _ => string.Join(',', RecommenderEvaluation.ModelNames) };
        var halfLife = new Option<string>("--profile-half-life")
        {
            Description = "Half-life of a profile item's weight: a duration (3m, 1h) or none", DefaultValueFactory = _ => "3m",
        };
        var evaluate = new Command("evaluate", "Evaluate the recommenders offline on a file of interactions (HR@k, NDCG@k, coverage, timings as JSON)")
        {
            interactions, user, item, time, rating, format, noHeader, k, protocol, models, halfLife,
        };
        evaluate.SetAction(parse =>
        {
            var error = parse.InvocationConfiguration.Error;
            var path = parse.GetValue(interactions)!;
            var top = parse.GetValue(k);
            if (top < 1)
            {
                error.WriteLine($"error: --k must be at least 1 (got {top})");
                return ExitCodes.Usage;
            }
            var names = parse.GetValue(models)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var unknown = names.FirstOrDefault(n => !RecommenderEvaluation.ModelNames.Contains(n));
            if (unknown is not null || names.Length == 0)
            {
                error.WriteLine($"error: unknown model '{unknown}' in --models: use {string.Join(", ", RecommenderEvaluation.ModelNames)}");
                return ExitCodes.Usage;
            }
            TimeSpan? profileHalfLife = null;
            var halfLifeText = parse.GetValue(halfLife)!;
            if (!halfLifeText.Equals("none", StringComparison.OrdinalIgnoreCase))
            {
                if (!Specs.SpecNode.TryParseDuration(halfLifeText, out var parsed) || parsed <= TimeSpan.Zero)
                {
                    error.WriteLine($"error: --profile-half-life must be a positive duration such as 3m or 1h, or none (got '{halfLifeText}')");
                    return ExitCodes.Usage;
                }
                profileHalfLife = parsed;
            }
            if (!File.Exists(path))
            {
                error.WriteLine($"error: the interactions file '{path}' does not exist");
                return ExitCodes.NotFound;
            }
            var tab = (parse.GetValue(format) ?? (Path.GetExtension(path) is ".tsv" or ".data" ? "tsv" : "csv")) == "tsv";
            try
            {
                var log = InteractionLog.Read(path, new InteractionFileOptions
                {
                    User = parse.GetValue(user)!, Item = parse.GetValue(item)!, Time = parse.GetValue(time)!, Rating = parse.GetValue(rating),
                    Delimiter = tab ? '\t' : ',', HasHeader = !parse.GetValue(noHeader),
                });
                var chosen = parse.GetValue(protocol)!;
                var results = names.Select(name =>
                {
                    var recommender = RecommenderEvaluation.CreateModel(name, chosen, log, profileHalfLife);
                    return chosen == "prequential"
                        ? RecommenderEvaluation.Prequential(recommender, log, top)
                        : RecommenderEvaluation.LeaveLastOut(recommender, log, top);
                }).ToList();
                Write(parse.InvocationConfiguration.Output, path, log, chosen, top, profileHalfLife, results);
                return ExitCodes.Ok;
            }
            catch (StreamMlException ex)
            {
                error.WriteLine($"error: {ex.Message}");
                return ExitCodes.Failed;
            }
        });
        return new Command("recommend", "Recommendations: offline evaluation") { evaluate };
    }

    private static void Write(TextWriter output, string path, InteractionLog log, string protocol, int k, TimeSpan? profileHalfLife, List<EvaluationResult> results)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("interactions", path);
            json.WriteNumber("events", log.Count);
            json.WriteNumber("users", log.Users.Distinct().Count());
            json.WriteNumber("items", log.Items.Distinct().Count());
            json.WriteString("protocol", protocol);
            json.WriteNumber("k", k);
            json.WriteString("profile_half_life", profileHalfLife is { } h ? h.ToString() : "none");
            json.WriteStartArray("models");
            foreach (var r in results)
            {
                json.WriteStartObject();
                json.WriteString("model", r.Model);
                json.WriteNumber("cases", r.Cases);
                json.WriteNumber($"hr@{k}", Math.Round(r.HitRate, 4));
                json.WriteNumber($"ndcg@{k}", Math.Round(r.Ndcg, 4));
                json.WriteNumber("coverage", Math.Round(r.Coverage, 4));
                json.WriteNumber("fallback_share", Math.Round(r.FallbackShare, 4));
                json.WriteNumber("train_seconds", Math.Round(r.TrainSeconds, 3));
                json.WriteNumber("recommend_seconds", Math.Round(r.RecommendSeconds, 3));
                json.WriteNumber("micros_per_recommend", Math.Round(r.MicrosPerRecommend, 1));
                if (r.Model == "ease") json.WriteNumber("refits", r.Refits);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }
}
