using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using StreamMl.Engine;
using StreamMl.Host.Registry;
using StreamMl.Operators.Drift;
using StreamMl.Operators.Ensembles;
using StreamMl.Operators.Features;
using StreamMl.Operators.Learners;
using StreamMl.Operators.Search;

namespace StreamMl.Host.Training;

/// <summary>Reports progress of a training run: phase messages and cross-validation folds.</summary>
public interface ITrainingProgress
{
    /// <summary>A phase started or finished.</summary>
    void Log(string message);

    /// <summary>A fold finished.</summary>
    void Fold(int done, int total);
}

/// <summary>Runs a <see cref="TrainSpec"/>: reads the data, fits the feature pipeline on the training split, cross-validates,
/// tunes the threshold on out-of-fold scores, fits the final model, checks the ONNX export against ML.NET, checks the
/// gates against the held-out rows and the production model, and registers the version (promoting it when allowed).
/// Every check runs before the registry is touched, so a failed run leaves nothing behind.</summary>
public static partial class TrainingRunner
{
    /// <summary>ONNX Runtime must reproduce ML.NET's predictions this closely (absolute, scaled by max(1, |value|)).</summary>
    public const double ParityTolerance = 1e-5;

    /// <summary>Runs the spec; <paramref name="registryRoot"/> overrides the spec's registry path.</summary>
    public static async Task<TrainingReport> RunAsync(TrainSpec spec, ITrainingProgress? progress = null, string? registryRoot = null,
        CancellationToken cancellationToken = default)
    {
        progress ??= NullProgress.Instance;
        // Checked again (a spec built in code never went through Parse): a bad trainer fails before the data is read.
        spec.Check();
        if (spec.Data.Kind == "images") return await ImageTrainingRunner.RunAsync(spec, progress, registryRoot, cancellationToken);
        var timings = new Dictionary<string, double>();
        var clock = Stopwatch.StartNew();
        void Lap(string phase) { timings[phase] = Math.Round(clock.Elapsed.TotalSeconds, 3); clock.Restart(); }

        var task = ParseTask(spec.Task);
        var dataPath = spec.Resolve(spec.Data.Path);
        progress.Log($"reading {dataPath}");
        var read = await DataTableReader.ReadAsync(dataPath, spec.Data.Limit, cancellationToken);
        var table = read.Table;
        if (read.DeadLetters.Count > 0)
            progress.Log($"{read.DeadLetters.Count} records could not be read and were left out; first: {read.DeadLetters[0].Location}: {read.DeadLetters[0].Message}");
        if (table.Rows == 0) throw new StreamMlException($"{dataPath} has a header but no data rows: there is nothing to train on");
        var target = table.Require(spec.Target, "target");
        var inputColumns = InputColumns(spec, table);
        var (labels, rows, classNames) = Labels(table, target, task, spec.Positive);
        Lap("load");
        progress.Log($"{rows.Length} rows, {inputColumns.Count} input columns, target '{spec.Target}' ({task.ToString().ToLowerInvariant()}"
            + (classNames is null ? ")" : $", classes {string.Join(", ", classNames)})"));

        // Held-out split (stratified for classification), in positions of `rows`.
        var split = task == LearningTask.Regression
            ? Folds.ShuffledSplit(rows.Length, spec.Validation.Holdout, spec.Validation.Seed)
            : Folds.StratifiedSplit(labels, spec.Validation.Holdout, spec.Validation.Seed);
        var trainRows = split.Train.Select(i => rows[i]).ToArray();
        var testRows = split.Test.Select(i => rows[i]).ToArray();
        var trainLabels = split.Train.Select(i => labels[i]).ToArray();
        var testLabels = split.Test.Select(i => labels[i]).ToArray();

        progress.Log($"fitting features on {trainRows.Length} rows");
        var recipe = Prepare(spec, task, table, inputColumns, trainRows, trainLabels, testRows, testLabels, classNames, withProfile: true, progress);
        var (pipeline, trainSet, testSet, learner, cvOptions) = (recipe.Pipeline, recipe.TrainSet, recipe.TestSet, recipe.Learner, recipe.Options);
        Lap("features");
        progress.Log($"{pipeline.FeatureCount} features: {string.Join(", ", pipeline.FeatureNames.Take(12))}{(pipeline.FeatureCount > 12 ? ", ..." : "")}");
        if (spec.Derive.Count > 0)
            progress.Log($"{spec.Derive.Count} derived features computed inside the model: {string.Join(", ", spec.Derive.Select(d => $"{d.Key} = {d.Value}"))}");

        SearchResult? search = null;
        EnsembleRecord? ensemble = null;
        var specBeforeSearch = spec;
        if (spec.Search is { } searchSpec)
        {
            var budget = searchSpec.BudgetSeconds()!.Value;
            progress.Log($"searching {(searchSpec.Trainers.Count > 0 ? string.Join(", ", searchSpec.Trainers) : "every trainer")} for {budget:0.#} s on the same {spec.Validation.Folds} folds");
            search = ModelSearch.Run(task, trainSet, new SearchOptions
            {
                Budget = TimeSpan.FromSeconds(budget),
                MinimumComplete = searchSpec.Ensemble?.Top ?? 0,
                Metric = searchSpec.Metric ?? spec.Gates.Metric,
                Trainers = searchSpec.Trainers,
                Seed = searchSpec.Seed,
                Candidates = searchSpec.Candidates,
                Folds = spec.Validation.Folds,
                FoldSeed = spec.Validation.Seed,
                LearnerSeed = spec.Validation.Seed,
                Threads = spec.Threads,
                Classes = task == LearningTask.Multiclass ? classNames!.Length : null,
                Learner = recipe.Make,
                Trial = t => progress.Log(string.Create(CultureInfo.InvariantCulture,
                    $"trial {t.Id} ({t.Origin}): {Describe(t.Options)} on {t.RowShare:P0} of the rows: {t.Mean:F4} ± {t.StdDev:F4} in {t.Seconds:F1} s{(t.Complete ? "" : t.Error is null ? " (stopped at the budget)" : $" (failed: {t.Error})")}")),
            }, cancellationToken);
            Lap("search");
            progress.Log(string.Create(CultureInfo.InvariantCulture,
                $"search: {search.Trials.Count} trials in {search.Seconds:F1} s; best trial {search.Best.Id}: {Describe(search.Best.Options)}, {search.Metric} {search.Best.Mean:F4} ± {search.Best.StdDev:F4}"));
            spec = Resolved(spec, search.Best.Options);
            LearnerOptions? single = LearnerFor(spec, task, classNames);
            if (searchSpec.Ensemble is { } ensembleSpec)
            {
                ensemble = EnsembleRecord.Of(search, ensembleSpec, spec.Validation.Seed);
                progress.Log($"ensemble ({ensembleSpec.Method}) of trials {string.Join(", ", ensemble.Members.Select(m => m.Id))}: "
                    + string.Join("; ", ensemble.Members.Select(m => Describe(m.Options))));
                learner = ensemble.Learner(recipe.Make);
                single = null;
            }
            else learner = recipe.Make(single);
            recipe = recipe with { Learner = learner, Single = single };
        }

        progress.Log($"{spec.Validation.Folds}-fold {(task == LearningTask.Regression ? "shuffled" : "stratified")} cross-validation"
            + $" x{cvOptions.Repeats} with {(ensemble is null ? spec.Trainer : $"an ensemble ({ensemble.Spec.Method}) of {ensemble.Members.Count} models")} on {trainSet.Rows} rows{(cvOptions.ParallelFolds > 1 ? $", {cvOptions.ParallelFolds} folds at a time" : "")}");
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var (cv, threshold) = CrossValidate(spec, task, recipe);
        // Process CPU time of the cross-validation: with threads: 1 it compares with single-threaded tools even on a
        // loaded machine, where wall time mostly measures the other processes.
        timings["cvCpu"] = Math.Round((Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds, 3);
        if (threshold is not null)
            progress.Log($"threshold {threshold.Threshold:G4} ({threshold.Objective}): out-of-fold precision {threshold.Precision:F3}, recall {threshold.Recall:F3}");
        Lap("cv");
        var cut = threshold?.Threshold ?? 0.5;

        var chosenTrees = CrossValidator.ChosenTrees(cv);
        if (chosenTrees is { } trees && recipe.Single is { } chosen)
        {
            progress.Log($"early stopping chose {string.Join(", ", cv.Folds.Select(f => f.Trees))} trees in the folds; the final model gets {trees}");
            learner = recipe.Make(chosen with { NumberOfTrees = trees, EarlyStoppingRounds = null });
        }
        progress.Log("fitting the final model");
        var final = learner.Fit(CrossValidator.PrepareTraining(trainSet, cvOptions, spec.Validation.Seed));
        var classes = task == LearningTask.Multiclass ? classNames!.Length : task == LearningTask.Binary ? 2 : 1;
        var heldOutPredictions = final.Predict(testSet);
        var heldOut = CrossValidator.Score(task, testSet.Labels, heldOutPredictions, classes, cut);
        var trainMetrics = CrossValidator.Score(task, trainSet.Labels, final.Predict(trainSet), classes, cut);
        Lap("fit");

        byte[] onnx;
        using (var stream = new MemoryStream())
        {
            final.ExportOnnx(stream);
            onnx = stream.ToArray();
        }
        double parity;
        using (var exported = OnnxMatrixModel.Load(onnx, "exported model"))
        {
            var onnxPredictions = exported.Predict(testSet, task);
            parity = MaxScaledDifference(heldOutPredictions, onnxPredictions);
        }
        if (parity > ParityTolerance)
            throw new StreamMlException($"the ONNX export differs from ML.NET by {parity:G3} on the held-out rows (more than {ParityTolerance}); the model was not registered");
        Lap("export");

        var registry = new ModelRegistry(registryRoot ?? spec.Resolve(spec.Registry.Path));
        var production = registry.Stages(spec.Name).Production is null ? null : registry.Production(spec.Name);
        var gateSpec = new AcceptanceGates
        {
            Metric = spec.Gates.Metric,
            MinScore = spec.Gates.MinScore,
            MaxTrainTestGap = spec.Gates.MaxGap,
            ChampionMargin = spec.Gates.ChampionMargin,
            ChampionStdErrors = spec.Gates.ChampionStdErrors,
        };
        var metric = gateSpec.MetricFor(task);
        if (!cv.Validation.ContainsKey(metric))
            throw new StreamMlException($"gates.metric '{metric}' is not a {task.ToString().ToLowerInvariant()} metric; use one of: {string.Join(", ", cv.Validation.Keys)}");
        double? championScore = null;
        GateReport gates;
        ChampionDecision? decision = null;
        if (production is not null && gateSpec.ChampionMargin is { } margin)
        {
            championScore = ScoreChampion(production, table, testRows, testSet.Labels, task, classes, metric);
            progress.Log($"production version {production.Version}: held-out {metric} {championScore:G6}");
            if (production.Manifest.Spec is { } stored)
            {
                // The production version's recipe (features, trainer, hyper-parameters, imbalance handling, threshold
                // objective) is cross-validated on this run's training rows and folds, so both are scored fold by fold
                // on the same rows: a paired comparison.
                progress.Log($"cross-validating production version {production.Version}'s recipe on the same folds");
                CrossValidationResult championCv;
                try
                {
                    var championSpec = StoredSpec(production, stored, spec);
                    var championRecipe = Prepare(championSpec, task, table, InputColumns(championSpec, table), trainRows, trainLabels, testRows,
                        testLabels, classNames, withProfile: false, progress);
                    championCv = CrossValidate(championSpec, task, championRecipe).Cv;
                }
                catch (StreamMlException e)
                {
                    throw new StreamMlException($"production version {production.Version}'s recipe cannot be cross-validated on this data for the "
                        + $"champion gate: {e.Message}. Nothing was registered; set gates.championMargin: null to train without the comparison", e);
                }
                if (!championCv.FoldOfRow.AsSpan().SequenceEqual(cv.FoldOfRow))
                    throw new StreamMlException("internal error: the production recipe was cross-validated on other folds; the comparison would not be paired");
                var paired = PairedComparison.Of(metric,
                    cv.Folds.Select(f => f.Validation[metric]).ToArray(), championCv.Folds.Select(f => f.Validation[metric]).ToArray());
                gates = gateSpec.CheckPaired(task, cv.Validation[metric].Mean, trainMetrics[metric], heldOut[metric], paired);
                decision = new ChampionDecision
                {
                    ProductionVersion = production.Version,
                    Metric = metric,
                    Basis = "cross-validation",
                    Folds = paired.Improvements.Count,
                    ChallengerMean = paired.Challenger.Average(),
                    ChampionMean = paired.Champion.Average(),
                    FoldImprovements = paired.Improvements,
                    MeanImprovement = paired.MeanImprovement,
                    StdDevImprovement = paired.StdDevImprovement,
                    StandardError = paired.StandardError,
                    Margin = margin,
                    StdErrors = gateSpec.ChampionStdErrors,
                    Passed = gates.Results.Single(r => r.Gate == "champion").Passed,
                };
            }
            else
            {
                progress.Log($"production version {production.Version} keeps no training spec (registered before specs were kept): compared on the held-out rows only");
                gates = gateSpec.Check(task, cv.Validation[metric].Mean, trainMetrics[metric], heldOut[metric], championScore);
                var higher = MetricNames.HigherIsBetter(metric);
                decision = new ChampionDecision
                {
                    ProductionVersion = production.Version,
                    Metric = metric,
                    Basis = "held-out",
                    ChallengerMean = heldOut[metric],
                    ChampionMean = championScore.Value,
                    MeanImprovement = higher ? heldOut[metric] - championScore.Value : championScore.Value - heldOut[metric],
                    Margin = margin,
                    Passed = gates.Results.Single(r => r.Gate == "champion").Passed,
                };
            }
        }
        else
        {
            gates = gateSpec.Check(task, cv.Validation[metric].Mean, trainMetrics[metric], heldOut[metric], null);
        }
        foreach (var gate in gates.Results) progress.Log($"gate {gate.Gate}: {(gate.Passed ? "pass" : "FAIL")}: {gate.Message}");

        var headline = new Dictionary<string, double>();
        foreach (var (name, summary) in cv.Validation)
        {
            headline["cv_" + name] = summary.Mean;
            headline["cv_" + name + "_std"] = summary.StdDev;
        }
        foreach (var (name, value) in heldOut.Values) headline["holdout_" + name] = value;
        var rowSample = TrainingRowHashes.Build(table, pipeline.Inputs.Select(f => f.Name).ToArray(), trainRows);
        var package = new ModelPackage
        {
            Manifest = new ModelManifest
            {
                Task = task.ToString().ToLowerInvariant(),
                Trainer = ensemble is null ? spec.Trainer : EnsembleRecord.TrainerName,
                Target = spec.Target,
                Threshold = threshold?.Threshold,
                Parent = production?.Version,
                Hyperparameters = Hyperparameters(spec.Hyperparameters, chosenTrees),
                Spec = JsonDocument.Parse(spec.ToJson()).RootElement.Clone(),
                Champion = decision,
                Data = new DataFingerprint
                {
                    Source = dataPath,
                    Rows = rows.Length,
                    Columns = [.. inputColumns, spec.Target],
                    Sha256 = table.Fingerprint([.. inputColumns, spec.Target]),
                    TrainingRows = rowSample.Sample,
                },
                Headline = headline,
            },
        };
        package.Add(ModelPackage.ModelFile, onnx);
        package.Add(ModelPackage.FeaturesFile, pipeline.ToJson());
        package.Add(ModelPackage.SchemaFile, JsonSerializer.Serialize(new
        {
            inputs = pipeline.Inputs.Select(f => new { name = f.Name, type = ColumnTypes.Name(f.Type), nullable = f.Nullable }),
            features = pipeline.FeatureNames,
            target = spec.Target,
            task = task.ToString().ToLowerInvariant(),
            classes = classNames,
        }, ModelRegistry.s_json));
        package.Add(ModelPackage.MetricsFile, MetricsJson(cv, heldOut, trainMetrics, threshold, gates, championScore, decision, parity, trainSet, testSet, timings));
        package.Add(ModelPackage.ProfileFile, recipe.Profile!.ToJson());
        package.Add(ModelPackage.SpecFile, spec.ToJson());
        package.Add(rowSample.Sample.File, rowSample.Bytes);
        if (search is not null) package.Add(SearchLogFile, SearchLog(search, specBeforeSearch));
        if (ensemble is not null) package.Add(EnsembleRecord.File, ensemble.ToJson(final as EnsembleModel, cv, search!.Metric));
        var version = registry.Register(spec.Name, package);
        var promote = spec.Registry.Promote switch
        {
            "always" => true,
            "never" => false,
            _ => gates.Passed,
        };
        if (promote)
        {
            var reason = gates.Passed ? "gates passed" : "promote: always";
            if (decision is not null)
                reason += string.Create(CultureInfo.InvariantCulture,
                    $"; {decision.Metric} {decision.MeanImprovement:+0.####;-0.####;0} over v{decision.ProductionVersion} ({decision.Basis}{(decision.Folds > 0 ? $", {decision.Folds} folds" : "")})");
            registry.Promote(spec.Name, version.Version, reason);
        }
        Lap("register");
        progress.Log($"registered {spec.Name} version {version.Version} in {registry.Root}{(promote ? " and promoted it to production" : " as a candidate")}");
        return new TrainingReport
        {
            Name = spec.Name,
            Task = task,
            Trainer = ensemble is null ? spec.Trainer : EnsembleRecord.TrainerName,
            Rows = rows.Length,
            RowsWithoutTarget = table.Rows - rows.Length,
            RowsUnreadable = read.DeadLetters.Count,
            Features = pipeline.FeatureCount,
            CrossValidation = cv,
            HeldOut = heldOut,
            Train = trainMetrics,
            Threshold = threshold,
            ChampionScore = championScore,
            Champion = decision,
            Gates = gates,
            OnnxParity = parity,
            Version = promote ? registry.Open(spec.Name, version.Version) : version,
            Promoted = promote,
            Timings = timings,
            FoldAssignment = trainRows.Select((r, i) => (table.LineNumbers[r], cv.FoldOfRow[i])).ToArray(),
            HeldOutLines = testRows.Select(r => table.LineNumbers[r]).ToArray(),
            HeldOutPredictions = heldOutPredictions,
            ChosenTrees = chosenTrees,
        };
    }

    internal static LearningTask ParseTask(string task) => task switch
    {
        "binary" => LearningTask.Binary,
        "multiclass" => LearningTask.Multiclass,
        "regression" => LearningTask.Regression,
        _ => throw new StreamMlException($"task '{task}' is not binary, multiclass or regression"),
    };

    /// <summary>Labels of the rows whose target is present, and the class names of a classifier.</summary>
    private static (float[] Labels, int[] Rows, string[]? Classes) Labels(DataTable table, DataColumn target, LearningTask task, string? positive)
    {
        var rows = Enumerable.Range(0, table.Rows)
            .Where(r => target.IsNumeric ? !double.IsNaN(target.Numbers![r]) : target.Texts![r] is not null).ToArray();
        if (rows.Length == 0) throw new StreamMlException($"{table.Source}: target '{target.Name}' is empty in every row");
        if (task == LearningTask.Regression)
        {
            if (!target.IsNumeric)
            {
                var bad = rows.First(r => !double.TryParse(target.Texts![r], NumberStyles.Float, CultureInfo.InvariantCulture, out _));
                throw new StreamMlException(
                    $"{table.Source} line {table.LineNumbers[bad]}: regression target '{target.Name}' is not numeric ('{target.Texts![bad]}'); choose a numeric target or task: binary/multiclass");
            }
            return (rows.Select(r => (float)target.Numbers![r]).ToArray(), rows, null);
        }
        var values = rows.Select(r => target.IsNumeric ? target.Numbers![r].ToString(CultureInfo.InvariantCulture) : target.Texts![r]!).ToArray();
        var distinct = target.IsNumeric
            ? values.Distinct().OrderBy(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()
            : values.Distinct().Order(StringComparer.Ordinal).ToArray();
        if (distinct.Length < 2)
            throw new StreamMlException(
                $"{table.Source}: target '{target.Name}' has a single class ('{distinct[0]}' in all {rows.Length} rows); a classifier needs at least two");
        if (task == LearningTask.Binary)
        {
            if (distinct.Length > 2)
                throw new StreamMlException(
                    $"{table.Source}: target '{target.Name}' has {distinct.Length} classes ({string.Join(", ", distinct.Take(10))}); use task: multiclass");
            var positiveValue = positive ?? distinct[1];
            if (!distinct.Contains(positiveValue))
                throw new StreamMlException($"positive class '{positive}' is not a value of '{target.Name}' ({string.Join(", ", distinct)})");
            var negative = distinct.First(d => d != positiveValue);
            return (values.Select(v => v == positiveValue ? 1f : 0f).ToArray(), rows, [negative, positiveValue]);
        }
        var index = distinct.Select((d, i) => (d, i)).ToDictionary(t => t.d, t => (float)t.i);
        return (values.Select(v => index[v]).ToArray(), rows, distinct);
    }

    /// <summary>The columns a spec may learn from: every column but the target and the dropped ones.</summary>
    private static List<string> InputColumns(TrainSpec spec, DataTable table)
    {
        foreach (var drop in spec.Data.Drop) table.Require(drop, "dropped column");
        var inputColumns = table.Columns.Select(c => c.Name).Where(n => n != spec.Target && !spec.Data.Drop.Contains(n)).ToList();
        if (inputColumns.Count == 0) throw new StreamMlException($"{table.Source}: no column is left to learn from after the target and the dropped columns");
        return inputColumns;
    }

    /// <summary>What a spec fits and cross-validates: its fitted feature pipeline, the transformed training and held-out
    /// rows, its learner and cross-validation options; <c>Make</c> makes the learner of a trainer and hyper-parameters
    /// (with the spec's fold-fitted encodings around it), <c>Single</c> holds the learner's options (null for an ensemble).</summary>
    private sealed record Recipe(FeaturePipeline Pipeline, TrainingSet TrainSet, TrainingSet TestSet, ILearner Learner,
        CrossValidationOptions Options, ReferenceProfile? Profile, Func<LearnerOptions, ILearner> Make, LearnerOptions? Single);

    private static Recipe Prepare(TrainSpec spec, LearningTask task, DataTable table, List<string> inputColumns, int[] trainRows,
        float[] trainLabels, int[] testRows, float[] testLabels, string[]? classNames, bool withProfile, ITrainingProgress progress)
    {
        // The feature pipeline is fitted on the training split only, then applied to both sides: the held-out rows are
        // transformed exactly as serving rows will be.
        var pipeline = BuildFeatures(spec, table, inputColumns, progress);
        var inputSchema = table.SchemaOf(inputColumns);
        pipeline.Fit(table.Batches(inputSchema, trainRows));
        var bound = pipeline.Bind(inputSchema);
        var profileBuilder = withProfile ? new ReferenceProfileBuilder() : null;
        var trainSet = ToSet(table, pipeline, bound, trainRows, trainLabels, profileBuilder);
        var testSet = ToSet(table, pipeline, bound, testRows, testLabels, null);
        ILearner Make(LearnerOptions options) =>
            DerivedFeatures.Around(CategoryEncodings.Around(new MlNetLearner(task, options), spec.Encode, pipeline.FeatureNames), spec, pipeline.FeatureNames);
        var single = LearnerFor(spec, task, classNames);
        var learner = Make(single);
        if (task == LearningTask.Regression && spec.Imbalance.Resample is not ("none" or ""))
            throw new StreamMlException($"imbalance.resample '{spec.Imbalance.Resample}' applies to classification only");
        var resampler = task == LearningTask.Regression ? null : Resamplers.FromName(spec.Imbalance.Resample, spec.Imbalance.Neighbours);
        var weighted = spec.Imbalance.ClassWeights switch
        {
            "balanced" when task != LearningTask.Regression => true,
            "none" or "" => false,
            var other => throw new StreamMlException($"imbalance.classWeights '{other}' is not none or balanced (classification only)"),
        };
        var options = new CrossValidationOptions
        {
            Folds = spec.Validation.Folds,
            Repeats = Math.Max(1, spec.Validation.Repeats),
            Seed = spec.Validation.Seed,
            Resampler = resampler,
            BalancedClassWeights = weighted,
            ParallelFolds = spec.ParallelFolds(),
            Progress = progress.Fold,
        };
        return new Recipe(pipeline, trainSet, testSet, learner, options, profileBuilder?.Build(), Make, single);
    }

    /// <summary>The trainer and hyper-parameters a spec names.</summary>
    private static LearnerOptions LearnerFor(TrainSpec spec, LearningTask task, string[]? classNames) => new()
    {
        Trainer = spec.Trainer,
        NumberOfTrees = spec.Hyperparameters.Trees,
        NumberOfLeaves = spec.Hyperparameters.Leaves,
        LearningRate = spec.Hyperparameters.LearningRate,
        MinimumExampleCountPerLeaf = spec.Hyperparameters.MinLeaf,
        L2Regularization = spec.Hyperparameters.L2,
        L1Regularization = spec.Hyperparameters.L1,
        Normalize = spec.Hyperparameters.Normalize,
        MaximumIterations = spec.Hyperparameters.Iterations,
        FeatureFraction = spec.Hyperparameters.FeatureFraction,
        EarlyStoppingRounds = spec.Hyperparameters.EarlyStopping,
        ValidationFraction = spec.Hyperparameters.ValidationFraction ?? 0.1,
        Threads = spec.Threads,
        Seed = spec.Validation.Seed,
        Classes = task == LearningTask.Multiclass ? classNames!.Length : null,
    };

    /// <summary>The spec with the search's choice as its trainer and hyper-parameters and no search: what the registry
    /// keeps, so the champion gate re-trains the chosen recipe instead of searching again.</summary>
    private static TrainSpec Resolved(TrainSpec spec, LearnerOptions chosen)
    {
        var resolved = TrainSpec.Parse(spec.ToJson(), json: true, "the resolved spec");
        resolved.BaseDirectory = spec.BaseDirectory;
        resolved.Search = null;
        resolved.Trainer = chosen.Trainer;
        resolved.Hyperparameters = new HyperparameterSpec
        {
            Trees = chosen.NumberOfTrees,
            Leaves = chosen.NumberOfLeaves,
            LearningRate = chosen.LearningRate,
            MinLeaf = chosen.MinimumExampleCountPerLeaf,
            L2 = chosen.L2Regularization,
            L1 = chosen.L1Regularization,
            Normalize = chosen.Normalize,
            Iterations = chosen.MaximumIterations,
            FeatureFraction = chosen.FeatureFraction,
            EarlyStopping = chosen.EarlyStoppingRounds,
            ValidationFraction = chosen.EarlyStoppingRounds is null ? null : chosen.ValidationFraction,
        };
        return resolved;
    }

    private static string Describe(LearnerOptions o)
    {
        var parts = new List<string> { o.Trainer };
        if (o.NumberOfTrees is { } trees) parts.Add($"trees={trees}");
        if (o.NumberOfLeaves is { } leaves) parts.Add($"leaves={leaves}");
        if (o.LearningRate is { } rate) parts.Add(string.Create(CultureInfo.InvariantCulture, $"learningRate={rate:G4}"));
        if (o.MinimumExampleCountPerLeaf is { } minLeaf) parts.Add($"minLeaf={minLeaf}");
        if (o.FeatureFraction is { } fraction) parts.Add(string.Create(CultureInfo.InvariantCulture, $"featureFraction={fraction:G3}"));
        if (o.L2Regularization is { } l2) parts.Add(string.Create(CultureInfo.InvariantCulture, $"l2={l2:G4}"));
        if (o.L1Regularization is { } l1) parts.Add(string.Create(CultureInfo.InvariantCulture, $"l1={l1:G4}"));
        if (o.Normalize is { } normalize) parts.Add(normalize ? "normalize=true" : "normalize=false");
        if (o.MaximumIterations is { } iterations) parts.Add($"iterations={iterations}");
        if (o.EarlyStoppingRounds is { } rounds) parts.Add($"earlyStopping={rounds}");
        return string.Join(" ", parts);
    }

    /// <summary>Cross-validates a recipe and, for a binary task, tunes the threshold on the out-of-fold scores and
    /// rescores every fold at it, so the cross-validated precision, recall and F1 are at the threshold the model uses
    /// (the same as the held-out figures).</summary>
    private static (CrossValidationResult Cv, ThresholdChoice? Threshold) CrossValidate(TrainSpec spec, LearningTask task, Recipe recipe)
    {
        var cv = CrossValidator.Run(recipe.Learner, recipe.TrainSet, recipe.Options);
        if (task != LearningTask.Binary) return (cv, null);
        var objective = spec.Threshold.Objective.ToLowerInvariant() switch
        {
            "fixed" => ThresholdObjective.Fixed,
            "maxf1" or "f1" => ThresholdObjective.MaxF1,
            "precision" => ThresholdObjective.TargetPrecision,
            "recall" => ThresholdObjective.TargetRecall,
            var other => throw new StreamMlException($"threshold.objective '{other}' is not fixed, maxF1, precision or recall"),
        };
        var threshold = Thresholds.Choose(recipe.TrainSet.Labels, cv.OutOfFold, objective, spec.Threshold.Target);
        return (CrossValidator.AtThreshold(cv, recipe.TrainSet, threshold.Threshold), threshold);
    }

    /// <summary>The training spec a production version was registered with, set to this run's validation (folds,
    /// repeats, seed), so that it is cross-validated on the same folds.</summary>
    private static TrainSpec StoredSpec(ModelVersion production, JsonElement stored, TrainSpec challenger)
    {
        var source = $"the training spec of production version {production.Version}";
        var spec = TrainSpec.Parse(stored.GetRawText(), json: true, source);
        if (spec.Target != challenger.Target)
            throw new StreamMlException($"{source} predicts '{spec.Target}', this spec '{challenger.Target}': they cannot be compared; "
                + "register under another name or set gates.championMargin: null");
        spec.Validation = challenger.Validation;
        return spec;
    }

    private static Dictionary<string, double> Hyperparameters(HyperparameterSpec h, int? chosenTrees)
    {
        var values = new Dictionary<string, double>();
        if (chosenTrees is { } chosen) values["chosenTrees"] = chosen;
        if (h.EarlyStopping is { } rounds) values["earlyStopping"] = rounds;
        if (h.FeatureFraction is { } featureFraction) values["featureFraction"] = featureFraction;
        if (h.Trees is { } trees) values["trees"] = trees;
        if (h.Leaves is { } leaves) values["leaves"] = leaves;
        if (h.LearningRate is { } rate) values["learningRate"] = rate;
        if (h.MinLeaf is { } minLeaf) values["minLeaf"] = minLeaf;
        // Through its shortest text, so a float 0.1 is kept as 0.1 (not 0.10000000149011612).
        if (h.L2 is { } l2) values["l2"] = double.Parse(l2.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        if (h.L1 is { } l1) values["l1"] = double.Parse(l1.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        if (h.Normalize is { } normalize) values["normalize"] = normalize ? 1 : 0;
        if (h.Iterations is { } iterations) values["iterations"] = iterations;
        return values;
    }

    private static FeaturePipeline BuildFeatures(TrainSpec spec, DataTable table, List<string> inputColumns, ITrainingProgress progress)
    {
        var builder = FeaturePipeline.Create(spec.Name);
        foreach (var name in spec.Encode.Keys)
        {
            if (name == spec.Target) throw new StreamMlException($"encode.{name} is the target: encoding it would leak the answer into the features");
            table.Require(name, "encode column");
            if (!inputColumns.Contains(name)) throw new StreamMlException($"encode.{name} is listed in data.drop; drop it or encode it, not both");
        }
        if (spec.Features.Count == 0)
        {
            foreach (var name in inputColumns)
            {
                var column = table.Require(name, "column");
                if (spec.Encode.ContainsKey(name)) { builder.Add(new CategoryCodeStep { Column = name }); continue; }
                if (!column.IsNumeric) { builder.OneHot(name); continue; }
                if (column.HasMissing) builder.Impute(name, ImputeStrategy.Median);
                builder.StandardScale(name);
            }
            return builder.Build();
        }
        foreach (var step in spec.Features)
        {
            if (step.Columns.Count == 0) throw new StreamMlException($"feature step '{step.Step}' names no columns");
            foreach (var name in step.Columns)
            {
                if (name == spec.Target) throw new StreamMlException($"feature step '{step.Step}' reads the target '{name}': that would leak the answer into the features");
                table.Require(name, $"feature step '{step.Step}' column");
            }
        }
        foreach (var name in spec.Encode.Keys)
        {
            if (spec.Features.Any(f => f.Columns.Contains(name))) throw new StreamMlException($"column '{name}' is both encoded (encode.{name}) and named by a feature step; keep one");
        }
        // Columns no step names: never dropped silently (a one-step list once turned 23 columns into 1 feature).
        var named = spec.Features.SelectMany(f => f.Columns).Concat(spec.Encode.Keys).ToHashSet(StringComparer.Ordinal);
        var remainder = inputColumns.Where(c => !named.Contains(c)).ToList();
        if (remainder.Count > 0)
        {
            switch (spec.Remainder)
            {
                case "passthrough":
                    progress.Log($"remainder: passthrough: {remainder.Count} columns no step names are used with default handling: {string.Join(", ", remainder)}");
                    break;
                case "drop":
                    progress.Log($"remainder: drop: {remainder.Count} columns no step names are left out: {string.Join(", ", remainder)}");
                    break;
                default:
                    throw new StreamMlException(
                        $"{remainder.Count} of {inputColumns.Count} input columns are named by no feature step and would be left out: "
                        + $"{string.Join(", ", remainder)}. Name them in a step, list them in data.drop, or set 'remainder: passthrough' "
                        + "(numbers as they are, median-imputed when missing; text one-hot) or 'remainder: drop'");
            }
        }
        foreach (var step in spec.Features)
        {
            switch (step.Step.ToLowerInvariant())
            {
                case "passthrough": builder.Passthrough([.. step.Columns]); break;
                case "standardscale": builder.StandardScale([.. step.Columns]); break;
                case "minmaxscale": builder.MinMaxScale([.. step.Columns]); break;
                case "log1p": builder.Log1p([.. step.Columns]); break;
                case "robustscale": foreach (var c in step.Columns) builder.RobustScale(c); break;
                case "impute":
                    foreach (var c in step.Columns)
                    {
                        switch (step.Strategy?.ToLowerInvariant() ?? "median")
                        {
                            case "mean": builder.Impute(c, ImputeStrategy.Mean); break;
                            case "median": builder.Impute(c, ImputeStrategy.Median); break;
                            case "constant": builder.ImputeConstant(c, step.Value ?? 0f); break;
                            default: throw new StreamMlException($"impute strategy '{step.Strategy}' is not mean, median or constant");
                        }
                    }
                    break;
                case "clip":
                    foreach (var c in step.Columns) builder.Clip(c, step.Value ?? float.MinValue, step.Max ?? float.MaxValue);
                    break;
                case "onehot": foreach (var c in step.Columns) builder.OneHot(c, step.Size ?? 64); break;
                case "hash": foreach (var c in step.Columns) builder.Hash(c, step.Size ?? 32); break;
                default:
                    throw new StreamMlException(
                        $"feature step '{step.Step}' is unknown; use passthrough, impute, standardScale, minMaxScale, robustScale, log1p, clip, oneHot or hash");
            }
        }
        foreach (var name in spec.Encode.Keys) builder.Add(new CategoryCodeStep { Column = name });
        // The remainder's features follow the named ones.
        if (spec.Remainder == "passthrough")
        {
            foreach (var name in remainder)
            {
                var column = table.Require(name, "column");
                if (!column.IsNumeric) builder.OneHot(name);
                else if (column.HasMissing) builder.Impute(name, ImputeStrategy.Median);
                else builder.Passthrough(name);
            }
        }
        return builder.Build();
    }

    /// <summary>The feature matrix of <paramref name="rows"/>, made by the fitted pipeline from engine batches.</summary>
    private static TrainingSet ToSet(DataTable table, FeaturePipeline pipeline, Schema bound, int[] rows, float[] labels,
        ReferenceProfileBuilder? profile)
    {
        var width = pipeline.FeatureCount;
        var matrix = new float[rows.Length * width];
        var written = 0;
        foreach (var batch in table.Batches(bound, rows))
        {
            using (batch)
            {
                written += pipeline.TransformToMatrix(batch, matrix.AsSpan(written * width), selectedOnly: false);
                profile?.Add(batch);
            }
        }
        return new TrainingSet(matrix, width, labels, pipeline.FeatureNames, rowIds: rows);
    }

    /// <summary>The production version's score on the held-out rows, through its own feature pipeline and ONNX model.</summary>
    private static double ScoreChampion(ModelVersion production, DataTable table, int[] testRows, float[] labels, LearningTask task,
        int classes, string metric)
    {
        if (!string.Equals(production.Manifest.Task, task.ToString(), StringComparison.OrdinalIgnoreCase))
            throw new StreamMlException($"production version {production.Version} is a {production.Manifest.Task} model; this spec trains {task}");
        using var scored = RegisteredModel.Load(production);
        foreach (var input in scored.Features.Inputs)
            table.Require(input.Name, $"production version {production.Version} input");
        var predictions = scored.PredictMatrix(table, testRows);
        return CrossValidator.Score(task, labels, predictions, classes, production.Manifest.Threshold ?? 0.5)[metric];
    }

    private static double MaxScaledDifference(float[] expected, float[] actual)
    {
        if (expected.Length != actual.Length) return double.PositiveInfinity;
        var max = 0.0;
        for (var i = 0; i < expected.Length; i++)
            max = Math.Max(max, Math.Abs((double)expected[i] - actual[i]) / Math.Max(1, Math.Abs((double)expected[i])));
        return max;
    }

    /// <summary>The search log kept with a version: the search settings, then every trial (trainer, hyper-parameters,
    /// rows share, fold scores, mean ± std, seconds, trees chosen, complete or why not) and the chosen trial.</summary>
    public const string SearchLogFile = "search.json";

    private static string SearchLog(SearchResult search, TrainSpec spec) => JsonSerializer.Serialize(new
    {
        budget = spec.Search!.Budget,
        budgetSeconds = spec.Search.BudgetSeconds(),
        seconds = Math.Round(search.Seconds, 3),
        metric = search.Metric,
        trainers = spec.Search.Trainers,
        seed = spec.Search.Seed,
        best = search.Best.Id,
        trials = search.Trials.Select(t => new
        {
            id = t.Id,
            candidate = t.Candidate,
            origin = t.Origin,
            rung = t.Rung,
            rowShare = Math.Round(t.RowShare, 4),
            trainer = t.Options.Trainer,
            hyperparameters = Describe(t.Options),
            mean = double.IsNaN(t.Mean) ? (double?)null : t.Mean,
            std = double.IsNaN(t.StdDev) ? (double?)null : t.StdDev,
            foldScores = t.FoldScores,
            seconds = t.Seconds,
            trees = t.Trees,
            complete = t.Complete,
            error = t.Error,
        }),
    }, ModelRegistry.s_json);

    private static string MetricsJson(CrossValidationResult cv, EvaluationMetrics heldOut, EvaluationMetrics train, ThresholdChoice? threshold,
        GateReport gates, double? champion, ChampionDecision? decision, double parity, TrainingSet trainSet, TrainingSet testSet, Dictionary<string, double> timings)
    {
        object? curves = null;
        if (cv.Task == LearningTask.Binary)
        {
            // Curves on out-of-fold scores, thinned to at most ~200 points.
            var pr = Thresholds.PrecisionRecallCurve(trainSet.Labels, cv.OutOfFold);
            var roc = Thresholds.RocCurve(trainSet.Labels, cv.OutOfFold);
            curves = new
            {
                pr = pr.Where((_, i) => i % Math.Max(1, pr.Length / 200) == 0).Select(p => new[] { p.Threshold, p.Precision, p.Recall }),
                roc = roc.Skip(1).Where((_, i) => i % Math.Max(1, roc.Length / 200) == 0).Select(p => new[] { p.Threshold, p.FalsePositiveRate, p.TruePositiveRate }),
            };
        }
        return JsonSerializer.Serialize(new
        {
            trainRows = trainSet.Rows,
            heldOutRows = testSet.Rows,
            // Binary: accuracy, precision, recall and f1 of the folds are at this threshold, as the held-out ones are.
            crossValidationThreshold = threshold?.Threshold,
            crossValidation = cv.Validation.ToDictionary(kv => kv.Key, kv => new { mean = kv.Value.Mean, std = kv.Value.StdDev }),
            crossValidationTrain = cv.Train.ToDictionary(kv => kv.Key, kv => new { mean = kv.Value.Mean, std = kv.Value.StdDev }),
            folds = cv.Folds.Select(f => new { f.Repeat, f.Fold, f.TrainRows, f.ValidationRows, metrics = f.Validation.Values, trees = f.Trees }),
            chosenTrees = CrossValidator.ChosenTrees(cv),
            heldOut = heldOut.Values,
            heldOutConfusionMatrix = heldOut.ConfusionMatrix,
            train = train.Values,
            threshold,
            curves,
            gates = new { gates.Metric, passed = gates.Passed, results = gates.Results },
            championHeldOut = champion,
            champion = decision,
            onnxParityMaxDifference = parity,
            timingsSeconds = timings,
        }, ModelRegistry.s_json);
    }

    private sealed class NullProgress : ITrainingProgress
    {
        public static readonly NullProgress Instance = new();
        public void Log(string message) { }
        public void Fold(int done, int total) { }
    }
}
