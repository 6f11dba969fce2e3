using StreamMl.Engine;
using StreamMl.Host.Training;

namespace StreamMl.Host.Tests.Training;

/// <summary>Issue 17 item 5: `cvParallel: auto | N` fits cross-validation folds at the same time without changing what
/// they compute.</summary>
public sealed class ParallelFoldsSpecTests : IDisposable
{
    private readonly string _folder = TrainingTestData.TempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task One_and_two_parallel_folds_give_the_same_cross_validation()
    {
        async Task<TrainingReport> Run(string parallel)
        {
            var spec = TrainSpec.Load(TrainingTestData.CreditSpec(_folder, $"threads: 1\ncvParallel: {parallel}\ngates: {{ championMargin: null }}",
                limit: 1500, trees: 300));
            spec.Hyperparameters.EarlyStopping = 10;
            return await TrainingRunner.RunAsync(spec);
        }

        var serial = await Run("1");
        var parallel = await Run("2");

        Assert.Equal(serial.FoldAssignment, parallel.FoldAssignment);
        Assert.Equal(serial.CrossValidation.Folds.Select(f => f.Trees), parallel.CrossValidation.Folds.Select(f => f.Trees));
        foreach (var metric in serial.CrossValidation.Validation.Keys)
        {
            Assert.Equal(serial.CrossValidation.Folds.Select(f => f.Validation[metric]), parallel.CrossValidation.Folds.Select(f => f.Validation[metric]));
        }
        Assert.Equal(serial.Threshold!.Threshold, parallel.Threshold!.Threshold);
        Assert.Equal(serial.HeldOutPredictions, parallel.HeldOutPredictions);
    }

    [Theory]
    [InlineData("cvParallel: many\n")]
    [InlineData("cvParallel: 0\n")]
    [InlineData("cvParallel: -2\n")]
    public void A_bad_cvParallel_is_named_before_the_data_is_read(string yaml)
    {
        var message = Assert.Throws<StreamMlException>(() => TrainSpec.Parse("name: m\ndata: { path: d.csv }\ntarget: y\n" + yaml, json: false, "s.yaml")).Message;
        Assert.Contains("is not auto or a number of folds (1 or more)", message);
    }

    [Fact]
    public void Auto_fits_as_many_folds_as_the_cores_hold_at_the_spec_threads()
    {
        var spec = TrainSpec.Parse("name: m\ndata: { path: d.csv }\ntarget: y\nthreads: 1\n", json: false, "s.yaml");
        Assert.Equal(Math.Clamp(Environment.ProcessorCount, 1, 5), spec.ParallelFolds());
        spec.Threads = null;
        Assert.Equal(1, spec.ParallelFolds());
    }
}
