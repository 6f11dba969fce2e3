using System.Diagnostics;
using StreamMl.Engine;
using StreamMl.Images.Decoding;
using StreamMl.Images.Onnx;
using StreamMl.Images.Preprocessing;
using StreamMl.Images.Sources;
using StreamMl.OnnxFormat;

namespace StreamMl.Images.FineTuning;

/// <summary>Fine-tunes an image classifier's last ResNet basic blocks and its linear head on the CPU with this
/// project's own backpropagation (TorchSharp 0.107.0's native library needs a newer libstdc++ than Debian 12 has;
/// see docs/images.md). The feature maps entering the trainable blocks are computed once per augmented view through
/// ONNX Runtime (the graph cut there); a linear probe on the frozen embeddings starts the head; SGD with momentum, a
/// cosine learning rate and early stopping on a stratified validation split follow; the tuned weights are written back
/// into the same ONNX graph, so serving stays on ONNX Runtime.</summary>
public static class FineTuner
{
    private const int OrtBatch = 8;

    /// <summary>Fine-tunes <paramref name="classifier"/> (an image classifier's ONNX bytes, as
    /// <see cref="ImageModels.Classifier"/> builds) on <paramref name="train"/>; <paramref name="log"/> gets progress lines.</summary>
    public static FineTuneResult Run(byte[] classifier, IReadOnlyList<LabelledImage> train, int classes, FineTuneOptions options, Action<string>? log = null)
    {
        log ??= _ => { };
        if (options.Epochs < 1 || options.BatchSize < 1 || options.Views < 1 || options.Blocks < 1)
            throw new StreamMlException("fineTune: epochs, batch, views and blocks must be at least 1");
        var model = ModelProto.Parser.ParseFrom(classifier);
        var stage = ResNetStageGraph.Locate(model, options.Blocks);
        var random = new Random(options.Seed);
        var (fitImages, validationImages) = Split(train, options.ValidationFraction, random);
        var side = ImageGeometry.ImageNet.CropSize;

        var clock = Stopwatch.StartNew();
        using var session = new FeatureMapSession(stage.CutModel(ImageModelGraph.EmbeddingOutput), side);
        var fit = AugmentedViews(session, fitImages, options, random, side);
        var validation = CentreViews(session, validationImages, side);
        var featureSeconds = clock.Elapsed.TotalSeconds;
        var (channels, height, width) = session.MapShape;
        log($"fine-tuning: {fit.Labels.Count} images × {options.Views} augmented views and {validation.Labels.Count} validation images through ONNX Runtime in {featureSeconds:F1} s; feature maps {channels}×{height}×{width}");

        var (headWeights, headBias) = LinearProbe.Fit([.. fit.Embeddings.SelectMany(v => v)], [.. fit.Labels.SelectMany(l => Enumerable.Repeat(l, options.Views))], classes);
        var network = new StageNetwork(stage.ReadBlocks(), channels, height, width, headWeights, headBias);
        var parameters = network.Parameters().ToList();
        var (startLoss, startAccuracy) = Evaluate(network, validation, options.BatchSize);
        var epochs = new List<FineTuneEpoch> { new(0, double.NaN, startLoss, startAccuracy, 0) };
        log($"fine-tuning: start (linear probe on frozen features): validation accuracy {startAccuracy:F3}, loss {startLoss:F3}");
        var best = Snapshot(parameters);
        var (bestEpoch, bestAccuracy, bestLoss) = (0, startAccuracy, startLoss);

        var stepsPerEpoch = (fit.Labels.Count + options.BatchSize - 1) / options.BatchSize;
        var totalSteps = stepsPerEpoch * options.Epochs;
        var step = 0;
        double trainingSeconds = 0;
        var order = Enumerable.Range(0, fit.Labels.Count).ToArray();
        var batchMaps = new List<float[]>(options.BatchSize);
        var batchLabels = new List<int>(options.BatchSize);
        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            clock.Restart();
            random.Shuffle(order);
            double lossSum = 0;
            var firstRate = Rate(options.LearningRate, step, totalSteps);
            for (var start = 0; start < order.Length; start += options.BatchSize)
            {
                batchMaps.Clear();
                batchLabels.Clear();
                for (var i = start; i < Math.Min(order.Length, start + options.BatchSize); i++)
                {
                    batchMaps.Add(fit.Maps[order[i]][random.Next(options.Views)]);
                    batchLabels.Add(fit.Labels[order[i]]);
                }
                network.Forward(batchMaps);
                lossSum += network.Loss(batchLabels);
                network.ZeroGradients();
                network.Backward();
                Update(parameters, Rate(options.LearningRate, step++, totalSteps), options);
            }
            trainingSeconds += clock.Elapsed.TotalSeconds;
            var (loss, accuracy) = Evaluate(network, validation, options.BatchSize);
            epochs.Add(new FineTuneEpoch(epoch, lossSum / stepsPerEpoch, loss, accuracy, firstRate));
            log($"fine-tuning: epoch {epoch}/{options.Epochs}: train loss {lossSum / stepsPerEpoch:F3}, validation accuracy {accuracy:F3}, loss {loss:F3} ({clock.Elapsed.TotalSeconds:F0} s)");
            if (accuracy > bestAccuracy || (accuracy == bestAccuracy && loss < bestLoss))
            {
                (bestEpoch, bestAccuracy, bestLoss) = (epoch, accuracy, loss);
                best = Snapshot(parameters);
            }
            else if (epoch - bestEpoch >= options.Patience)
            {
                log($"fine-tuning: no better validation score for {options.Patience} epochs; keeping epoch {bestEpoch}");
                break;
            }
        }
        Restore(parameters, best);
        var tuned = stage.WithWeights(network);
        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(tuned);
        var parity = Parity(network, bytes, validation, options.BatchSize);
        return new FineTuneResult(bytes, epochs, bestEpoch, parity, fit.Labels.Count, validation.Labels.Count,
            featureSeconds, trainingSeconds / (epochs.Count - 1));
    }

    /// <summary>Cosine decay from <paramref name="peak"/> to 0.</summary>
    internal static double Rate(double peak, int step, int totalSteps) => peak * 0.5 * (1 + Math.Cos(Math.PI * step / Math.Max(1, totalSteps)));

    /// <summary>One SGD-with-momentum step: <c>v = μ·v + g + λ·w; w -= η·v</c>.</summary>
    internal static void Update(IReadOnlyList<Parameter> parameters, double rate, FineTuneOptions options)
    {
        var momentum = (float)options.Momentum;
        var eta = (float)rate;
        foreach (var parameter in parameters)
        {
            var decay = parameter.Decays ? (float)options.WeightDecay : 0f;
            var (w, g, v) = (parameter.Value, parameter.Gradient, parameter.Velocity);
            for (var i = 0; i < w.Length; i++)
            {
                v[i] = momentum * v[i] + g[i] + decay * w[i];
                w[i] -= eta * v[i];
            }
        }
    }

    private static (double Loss, double Accuracy) Evaluate(StageNetwork network, Views views, int batchSize)
    {
        double loss = 0;
        var correct = 0;
        var count = views.Labels.Count;
        for (var start = 0; start < count; start += batchSize)
        {
            var end = Math.Min(count, start + batchSize);
            var maps = Enumerable.Range(start, end - start).Select(i => views.Maps[i][0]).ToList();
            var labels = views.Labels.Skip(start).Take(end - start).ToList();
            var logits = network.Forward(maps);
            for (var b = 0; b < labels.Count; b++)
            {
                var row = logits.Slice(b * network.Classes, network.Classes);
                if (System.Numerics.Tensors.TensorPrimitives.IndexOfMax(row) == labels[b]) correct++;
            }
            loss += network.Loss(labels) * labels.Count;
        }
        return (loss / Math.Max(1, count), (double)correct / Math.Max(1, count));
    }

    // This code's forward pass against ONNX Runtime running the tuned graph from the pixels.
    private static double Parity(StageNetwork network, byte[] tuned, Views views, int batchSize)
    {
        using var session = new Backbone.ImageModelSession(tuned);
        using var preprocessor = new ImagePreprocessor();
        var tensor = new float[ImageGeometry.ImageNet.TensorLength];
        double worst = 0;
        for (var i = 0; i < Math.Min(views.Labels.Count, 2 * batchSize); i++)
        {
            if (preprocessor.Preprocess(File.ReadAllBytes(views.Paths[i]), tensor) != ImageDecodeStatus.Ok) continue;
            var probabilities = session.Run(tensor, 1, ImageModels.Probabilities);
            var embedding = session.Run(tensor, 1, ImageModels.Embedding);
            var logits = network.Forward([views.Maps[i][0]]).ToArray();
            var mine = Softmax(logits);
            for (var k = 0; k < mine.Length; k++) worst = Math.Max(worst, Math.Abs(mine[k] - probabilities[k]) / Math.Max(1.0, Math.Abs(probabilities[k])));
            var pooled = network.Pooled;
            for (var k = 0; k < pooled.Length; k++) worst = Math.Max(worst, Math.Abs(pooled[k] - embedding[k]) / Math.Max(1.0, Math.Abs(embedding[k])));
        }
        return worst;
    }

    internal static float[] Softmax(ReadOnlySpan<float> logits)
    {
        var result = new float[logits.Length];
        System.Numerics.Tensors.TensorPrimitives.SoftMax(logits, result);
        return result;
    }

    private static float[][] Snapshot(List<Parameter> parameters) => [.. parameters.Select(p => (float[])p.Value.Clone())];

    private static void Restore(List<Parameter> parameters, float[][] snapshot)
    {
        for (var i = 0; i < parameters.Count; i++) snapshot[i].CopyTo(parameters[i].Value, 0);
    }

    private sealed record Views(List<float[][]> Maps, List<float[][]> Embeddings, List<int> Labels, List<string> Paths);

    private static (List<LabelledImage> Fit, List<LabelledImage> Validation) Split(IReadOnlyList<LabelledImage> images, double fraction, Random random)
    {
        var fit = new List<LabelledImage>();
        var validation = new List<LabelledImage>();
        foreach (var group in images.GroupBy(i => i.Label).OrderBy(g => g.Key))
        {
            var members = group.ToArray();
            random.Shuffle(members);
            var held = members.Length < 2 ? 0 : Math.Max(1, (int)Math.Round(members.Length * fraction));
            validation.AddRange(members.Take(held));
            fit.AddRange(members.Skip(held));
        }
        return (fit, validation);
    }

    private static Views AugmentedViews(FeatureMapSession session, List<LabelledImage> images, FineTuneOptions options, Random random, int side)
    {
        var square = new ImageGeometry(256, 256);
        using var decoder = new ImageDecoder(square);
        var crop = new RandomResizedCrop(random, options.MinCropScale);
        var views = new Views([], [], [], []);
        var tensor = new float[OrtBatch * 3 * side * side];
        var filled = 0;
        var owners = new List<(int Image, int View)>();

        void Flush()
        {
            if (filled == 0) return;
            var (maps, embeddings) = session.Run(tensor, filled);
            for (var i = 0; i < filled; i++)
            {
                var (image, view) = owners[i];
                views.Maps[image][view] = maps[i];
                views.Embeddings[image][view] = embeddings[i];
            }
            filled = 0;
            owners.Clear();
        }

        foreach (var image in images)
        {
            if (decoder.Decode(ReadOrEmpty(image.Path)) != ImageDecodeStatus.Ok) continue;
            var index = views.Labels.Count;
            views.Maps.Add(new float[options.Views][]);
            views.Embeddings.Add(new float[options.Views][]);
            views.Labels.Add(image.Label);
            views.Paths.Add(image.Path);
            for (var v = 0; v < options.Views; v++)
            {
                crop.Apply(decoder.CropRgba, square.CropSize, square.CropSize, tensor.AsSpan(filled * 3 * side * side, 3 * side * side), side);
                owners.Add((index, v));
                if (++filled == OrtBatch) Flush();
            }
        }
        Flush();
        return views;
    }

    private static Views CentreViews(FeatureMapSession session, List<LabelledImage> images, int side)
    {
        using var preprocessor = new ImagePreprocessor();
        var views = new Views([], [], [], []);
        var tensor = new float[OrtBatch * 3 * side * side];
        var batch = new List<LabelledImage>();

        void Flush()
        {
            if (batch.Count == 0) return;
            var (maps, embeddings) = session.Run(tensor, batch.Count);
            for (var i = 0; i < batch.Count; i++)
            {
                views.Maps.Add([maps[i]]);
                views.Embeddings.Add([embeddings[i]]);
                views.Labels.Add(batch[i].Label);
                views.Paths.Add(batch[i].Path);
            }
            batch.Clear();
        }

        foreach (var image in images)
        {
            if (preprocessor.Preprocess(ReadOrEmpty(image.Path), tensor.AsSpan(batch.Count * 3 * side * side, 3 * side * side)) != ImageDecodeStatus.Ok) continue;
            batch.Add(image);
            if (batch.Count == OrtBatch) Flush();
        }
        Flush();
        return views;
    }

    private static byte[] ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
