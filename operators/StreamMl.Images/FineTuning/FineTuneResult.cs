namespace StreamMl.Images.FineTuning;

/// <summary>The tuned image model and how training went.</summary>
/// <param name="Onnx">The tuned classifier (same graph as the input, tuned weights), for ONNX Runtime.</param>
/// <param name="Epochs">Per epoch: training loss, validation loss and accuracy; epoch 0 is the starting point.</param>
/// <param name="BestEpoch">The epoch whose weights were kept (0 = fine-tuning did not beat the starting point).</param>
/// <param name="Parity">Largest difference between this code's forward pass and ONNX Runtime on the tuned graph
/// over the validation images (probabilities and embeddings, relative to max(1, |value|)).</param>
/// <param name="TrainImages">Images fine-tuned on.</param>
/// <param name="ValidationImages">Images used for early stopping.</param>
/// <param name="FeatureSeconds">Time computing the feature maps through ONNX Runtime.</param>
/// <param name="SecondsPerEpoch">Mean wall time of a training epoch (forward + backward + update, without validation).</param>
public sealed record FineTuneResult(byte[] Onnx, IReadOnlyList<FineTuneEpoch> Epochs, int BestEpoch, double Parity,
    int TrainImages, int ValidationImages, double FeatureSeconds, double SecondsPerEpoch);

/// <summary>One epoch of fine-tuning.</summary>
/// <param name="Epoch">1-based (0 = before fine-tuning).</param>
/// <param name="TrainLoss">Mean training cross-entropy over the epoch's steps.</param>
/// <param name="ValidationLoss">Mean validation cross-entropy after the epoch.</param>
/// <param name="ValidationAccuracy">Validation accuracy after the epoch.</param>
/// <param name="LearningRate">The learning rate at the epoch's first step.</param>
public sealed record FineTuneEpoch(int Epoch, double TrainLoss, double ValidationLoss, double ValidationAccuracy, double LearningRate);
