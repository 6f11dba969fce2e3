using StreamMl.Images.Heads;
using StreamMl.Operators.Learners;

namespace StreamMl.Host.Training;

/// <summary>The MLP image head (<see cref="MlpHead"/>, StreamMl.Images) as a learner, so the usual cross-validation and
/// metrics run on it. Its ONNX form is only the composed image graph (ImageModels.ClassifierWithMlp).</summary>
internal sealed class MlpHeadLearner(int classes, MlpHeadOptions options) : ILearner
{
    public LearningTask Task => LearningTask.Multiclass;

    public IFittedModel Fit(TrainingSet set) =>
        new Fitted(MlpHead.Train(set.Features, set.FeatureCount, [.. set.Labels.Select(l => (int)l)], classes, options));

    /// <summary>A trained head.</summary>
    internal sealed class Fitted(MlpHead head) : IFittedModel
    {
        public MlpHead Head => head;

        public LearningTask Task => LearningTask.Multiclass;

        public int Classes => head.Classes;

        public float[] Predict(TrainingSet set) => head.Predict(set.Features.AsSpan(0, set.Rows * set.FeatureCount));

        public void ExportOnnx(Stream stream) =>
            throw new NotSupportedException("the MLP head is exported inside the composed image graph (ImageModels.ClassifierWithMlp)");
    }
}
