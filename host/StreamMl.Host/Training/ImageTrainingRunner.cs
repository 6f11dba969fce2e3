using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using StreamMl.Engine;
using StreamMl.Host.Registry;
using StreamMl.Images.Backbone;
using StreamMl.Images.Decoding;
using StreamMl.Images.FineTuning;
using StreamMl.Images.Onnx;
using StreamMl.Images.Preprocessing;
using StreamMl.Images.Sources;
using StreamMl.Operators.Learners;

namespace StreamMl.Host.Training;

/// <summary>Transfer learning for <c>data: {kind: images}</c>: ResNet18 embeddings (StreamMl.Images, cached by content
/// hash), a multinomial logistic-regression head cross-validated and fitted with the usual learners, and one ONNX graph
/// (preprocessing → backbone → head) registered after a parity check against the two-stage computation.</summary>
internal static class ImageTrainingRunner
{
    private const int BatchSize = 16;

    public static Task<TrainingReport> RunAsync(TrainSpec spec, ITrainingProgress progress, string? registryRoot, CancellationToken cancellationToken)
    {
        if (spec.Task != "multiclass")
            throw new StreamMlException($"spec: images train a multiclass classifier; set task: multiclass (it is '{spec.Task}')");
        var mlp = spec.Head is { IsMlp: true } ? spec.Head.Options(spec.Validation.Seed) : null;
        var headName = mlp is null ? spec.Trainer : $"mlp{mlp.Hidden}";
        if (mlp is null && spec.Trainer.ToLowerInvariant() is not ("lr" or "sdca"))
            throw new StreamMlException($"spec: the image head is a linear softmax model; use trainer lr or sdca (it is '{spec.Trainer}'), or head: {{ kind: mlp }}");
        var timings = new Dictionary<string, double>();
        var clock = Stopwatch.StartNew();
        void Lap(string phase) { timings[phase] = Math.Round(clock.Elapsed.TotalSeconds, 3); clock.Restart(); }

        var folder = ImageFolder.Open(spec.Resolve(spec.Data.Path));
        if (folder.Classes.Count < 2)
            throw new StreamMlException($"{folder.Root}: an image folder for training needs at least two class sub-folders");
        IReadOnlyList<LabelledImage> train, test;
        if (spec.Data.Test is { } testPath)
        {
            var testFolder = ImageFolder.Open(spec.Resolve(testPath));
            train = folder.Images;
            test = [.. testFolder.Images.Select(i => i with { Label = folder.Classes.ToList().IndexOf(testFolder.Classes[i.Label]) })];
            if (test.FirstOrDefault(i => i.Label < 0) is { } stray)
                throw new StreamMlException($"{stray.Path}: its class folder is not among the training classes ({string.Join(", ", folder.Classes)})");
        }
        else
        {
            (train, test) = folder.StratifiedSplit(spec.Validation.Holdout, spec.Validation.Seed);
        }
        progress.Log($"{folder.Images.Count} images in {folder.Classes.Count} classes ({string.Join(", ", folder.Classes)}); {train.Count} train, {test.Count} held out");
        Lap("load");

        var files = BackboneFiles.Locate();
        var registry = new ModelRegistry(registryRoot ?? spec.Resolve(spec.Registry.Path));
        var cachePath = spec.Data.Cache is { } configured ? spec.Resolve(configured)
            : Path.Combine(registry.Root, ".cache", "image-embeddings-resnet18-256-224.parquet");
        var cache = EmbeddingCache.Open(cachePath, files.EmbeddingSize);
        var letters = new CollectingDeadLetterSink();
        EmbeddedImages trainEmbedded, testEmbedded;
        using (var featurizer = ImageModelSession.Featurizer(files))
        {
            var embedder = new ImageEmbedder(featurizer, BatchSize);
            trainEmbedded = embedder.Embed(train, letters, cache);
            testEmbedded = embedder.Embed(test, letters, cache);
        }
        foreach (var letter in letters.Letters.Take(5)) progress.Log($"left out {letter.Location}: {letter.Message}");
        progress.Log($"embeddings: {trainEmbedded.Computed + testEmbedded.Computed} computed, {trainEmbedded.FromCache + testEmbedded.FromCache} from {cachePath}"
            + (letters.Count > 0 ? $"; {letters.Count} images could not be decoded" : ""));
        Lap("embed");

        var classes = folder.Classes.Count;
        var trainSet = ToSet(trainEmbedded);
        var testSet = ToSet(testEmbedded);
        ILearner learner = mlp is not null ? new MlpHeadLearner(classes, mlp) : new MlNetLearner(LearningTask.Multiclass, new LearnerOptions
        {
            Trainer = spec.Trainer,
            L2Regularization = spec.Hyperparameters.L2,
            MaximumIterations = spec.Hyperparameters.Iterations,
            Seed = spec.Validation.Seed,
            Classes = classes,
        });
        progress.Log($"{spec.Validation.Folds}-fold stratified cross-validation of the {headName} head on {trainSet.Rows} embeddings");
        var cv = CrossValidator.Run(learner, trainSet, new CrossValidationOptions
        {
            Folds = spec.Validation.Folds, Repeats = Math.Max(1, spec.Validation.Repeats), Seed = spec.Validation.Seed, Progress = progress.Fold,
        });
        Lap("cv");

        var final = learner.Fit(trainSet);
        var heldOutPredictions = final.Predict(testSet);
        var heldOut = CrossValidator.Score(LearningTask.Multiclass, testSet.Labels, heldOutPredictions, classes, 0.5);
        var trainMetrics = CrossValidator.Score(LearningTask.Multiclass, trainSet.Labels, final.Predict(trainSet), classes, 0.5);
        Lap("fit");

        byte[] onnx;
        if (final is MlpHeadLearner.Fitted fitted) onnx = ImageModels.ClassifierWithMlp(files, fitted.Head);
        else
        {
            var head = LinearMulticlassHead.From(final);
            onnx = ImageModels.Classifier(files, head.Weights, head.Biases);
        }
        var parity = Parity(onnx, testEmbedded.Images, heldOutPredictions);
        if (parity > TrainingRunner.ParityTolerance)
            throw new StreamMlException($"the composed image model differs from backbone + head by {parity:G3} on the held-out images (more than {TrainingRunner.ParityTolerance}); the model was not registered");
        Lap("export");

        var frozenHeldOut = heldOut;
        FineTuneResult? tuned = null;
        if (spec.FineTune is { } fineTune)
        {
            progress.Log("held-out confusion matrix of the frozen backbone + head (rows: true class, columns: predicted):\n" + FormatConfusion(heldOut.ConfusionMatrix!, folder.Classes));
            tuned = FineTuner.Run(onnx, trainEmbedded.Images, classes, fineTune.ToOptions(spec.Validation.Seed), progress.Log);
            if (tuned.Parity > FineTuneParityTolerance)
                throw new StreamMlException($"the fine-tuned image model differs from the fine-tuning forward pass by {tuned.Parity:G3} (more than {FineTuneParityTolerance}); the model was not registered");
            heldOutPredictions = Predict(tuned.Onnx, testEmbedded.Images, classes);
            heldOut = CrossValidator.Score(LearningTask.Multiclass, testSet.Labels, heldOutPredictions, classes, 0.5);
            onnx = tuned.Onnx;
            progress.Log($"held-out accuracy: frozen {frozenHeldOut["accuracy"]:F3}, fine-tuned {heldOut["accuracy"]:F3} (epoch {tuned.BestEpoch} kept; {tuned.SecondsPerEpoch:F1} s per epoch, {tuned.TrainImages / Math.Max(1e-9, tuned.SecondsPerEpoch):F1} images/s)");
            Lap("fine-tune");
        }

        var gateSpec = new AcceptanceGates { Metric = spec.Gates.Metric, MinScore = spec.Gates.MinScore, MaxTrainTestGap = spec.Gates.MaxGap };
        var metric = gateSpec.MetricFor(LearningTask.Multiclass);
        var gates = gateSpec.Check(LearningTask.Multiclass, cv.Validation[metric].Mean, trainMetrics[metric], heldOut[metric], null);
        foreach (var gate in gates.Results) progress.Log($"gate {gate.Gate}: {(gate.Passed ? "pass" : "FAIL")}: {gate.Message}");
        progress.Log("held-out confusion matrix (rows: true class, columns: predicted):\n" + FormatConfusion(heldOut.ConfusionMatrix!, folder.Classes));

        var headline = new Dictionary<string, double>();
        foreach (var (name, summary) in cv.Validation) headline["cv_" + name] = summary.Mean;
        foreach (var (name, value) in heldOut.Values) headline["holdout_" + name] = value;
        var package = new ModelPackage
        {
            Manifest = new ModelManifest
            {
                Task = "multiclass",
                Trainer = tuned is null ? $"resnet18+{headName}" : $"resnet18-finetuned+{headName}",
                Target = "class",
                Spec = JsonDocument.Parse(spec.ToJson()).RootElement.Clone(),
                Data = new DataFingerprint
                {
                    Source = folder.Root,
                    Rows = folder.Images.Count,
                    Columns = ["image", "class"],
                },
                Headline = headline,
            },
        };
        var geometry = ImageGeometry.ImageNet;
        package.Add(ModelPackage.ModelFile, onnx);
        package.Add(ModelPackage.FeaturesFile, JsonSerializer.Serialize(new
        {
            kind = "image",
            resizeShorterSide = geometry.ResizeShorterSide,
            cropSize = geometry.CropSize,
            normalization = "raw255-rgb-planes",
            backbone = "Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0",
            input = ImageModels.Input,
            outputs = new[] { ImageModels.Probabilities, ImageModels.Embedding },
        }, ModelRegistry.s_json));
        package.Add(ModelPackage.SchemaFile, JsonSerializer.Serialize(new
        {
            inputs = new[] { new { name = "image", type = "jpeg/png bytes", nullable = false } },
            target = "class",
            task = "multiclass",
            classes = folder.Classes,
        }, ModelRegistry.s_json));
        package.Add(ModelPackage.MetricsFile, JsonSerializer.Serialize(new
        {
            crossValidation = cv.Validation.ToDictionary(kv => kv.Key, kv => new { mean = kv.Value.Mean, std = kv.Value.StdDev }),
            heldOut = heldOut.Values,
            train = trainMetrics.Values,
            confusionMatrix = heldOut.ConfusionMatrix,
            classes = folder.Classes,
            onnxParity = parity,
            frozenHeldOut = tuned is null ? null : frozenHeldOut.Values,
            frozenConfusionMatrix = tuned is null ? null : frozenHeldOut.ConfusionMatrix,
            fineTune = tuned is null ? null : new
            {
                bestEpoch = tuned.BestEpoch,
                epochs = tuned.Epochs,
                parity = tuned.Parity,
                trainImages = tuned.TrainImages,
                validationImages = tuned.ValidationImages,
                featureSeconds = tuned.FeatureSeconds,
                secondsPerEpoch = tuned.SecondsPerEpoch,
            },
            trainImages = trainSet.Rows,
            heldOutImages = testSet.Rows,
            undecodable = letters.Letters.Select(l => new { file = l.Location, reason = l.Message }),
            timings,
        }, ModelRegistry.s_json));
        package.Add(ModelPackage.ProfileFile, "{}"u8.ToArray());
        package.Add(ModelPackage.SpecFile, spec.ToJson());
        var version = registry.Register(spec.Name, package);
        var promote = spec.Registry.Promote switch { "always" => true, "never" => false, _ => gates.Passed };
        if (promote) registry.Promote(spec.Name, version.Version, gates.Passed ? "gates passed" : "promote: always");
        Lap("register");
        progress.Log($"registered {spec.Name} version {version.Version} in {registry.Root}{(promote ? " and promoted it to production" : " as a candidate")}");

        return Task.FromResult(new TrainingReport
        {
            Name = spec.Name,
            Task = LearningTask.Multiclass,
            Trainer = tuned is null ? $"resnet18+{headName}" : $"resnet18-finetuned+{headName}",
            Rows = trainSet.Rows + testSet.Rows,
            RowsUnreadable = letters.Letters.Count,
            Features = trainEmbedded.Width,
            CrossValidation = cv,
            HeldOut = heldOut,
            Train = trainMetrics,
            Gates = gates,
            OnnxParity = parity,
            Version = promote ? registry.Open(spec.Name, version.Version) : version,
            Promoted = promote,
            Timings = timings,
            FoldAssignment = [.. cv.FoldOfRow.Select((fold, i) => ((long)i, fold))],
            HeldOutLines = [.. Enumerable.Range(0, testSet.Rows).Select(i => (long)i)],
            HeldOutPredictions = heldOutPredictions,
        });
    }

    private const double FineTuneParityTolerance = 1e-4;

    // Class probabilities of a composed image model for the images, [images, classes] row-major.
    private static float[] Predict(byte[] onnx, IReadOnlyList<LabelledImage> images, int classes)
    {
        using var session = new ImageModelSession(onnx);
        using var preprocessor = new ImagePreprocessor();
        var reader = new ImageBatchReader(preprocessor, new CollectingDeadLetterSink());
        var batch = new ImageTensorBatch(BatchSize);
        var result = new float[images.Count * classes];
        var row = 0;
        for (var next = 0; next < images.Count;)
        {
            next = reader.Fill(batch, images, next);
            session.Run(batch.Tensor, batch.Count, ImageModels.Probabilities, result.AsMemory(row * classes, batch.Count * classes));
            row += batch.Count;
        }
        return result;
    }

    private static TrainingSet ToSet(EmbeddedImages embedded) =>
        new(embedded.Embeddings, embedded.Width, [.. embedded.Images.Select(i => (float)i.Label)]);

    // The registered graph scores the held-out images from their pixels; the two-stage result (ORT featurizer, then
    // the ML.NET head) must agree within the training parity tolerance.
    private static double Parity(byte[] onnx, IReadOnlyList<LabelledImage> images, float[] twoStage)
    {
        using var composed = new ImageModelSession(onnx);
        using var preprocessor = new ImagePreprocessor();
        var reader = new ImageBatchReader(preprocessor, new CollectingDeadLetterSink());
        var batch = new ImageTensorBatch(BatchSize);
        var classes = twoStage.Length / Math.Max(1, images.Count);
        var output = new float[BatchSize * classes];
        double worst = 0;
        var row = 0;
        for (var next = 0; next < images.Count;)
        {
            next = reader.Fill(batch, images, next);
            composed.Run(batch.Tensor, batch.Count, ImageModels.Probabilities, output);
            for (var i = 0; i < batch.Count * classes; i++)
                worst = Math.Max(worst, Math.Abs(output[i] - twoStage[row * classes + i]) / Math.Max(1.0, Math.Abs(twoStage[row * classes + i])));
            row += batch.Count;
        }
        return worst;
    }

    private static string FormatConfusion(long[][] matrix, IReadOnlyList<string> classes)
    {
        var text = new StringBuilder();
        var width = Math.Min(16, classes.Max(c => c.Length));
        for (var r = 0; r < matrix.Length; r++)
        {
            var name = classes[r].Length > width ? classes[r][..width] : classes[r];
            text.Append(CultureInfo.InvariantCulture, $"  {name.PadRight(width)} ");
            foreach (var count in matrix[r]) text.Append(CultureInfo.InvariantCulture, $"{(count == 0 ? "." : count.ToString(CultureInfo.InvariantCulture)),3}");
            text.AppendLine();
        }
        return text.ToString().TrimEnd();
    }
}
