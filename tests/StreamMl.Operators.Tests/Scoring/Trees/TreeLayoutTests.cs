using System.Runtime.InteropServices;
using StreamMl.Operators.Scoring.Trees;

namespace StreamMl.Operators.Tests.Scoring.Trees;

/// <summary>The layouts TreeEvaluatorBenchmarks compares (node array over 128-row blocks, the same row-major,
/// struct-of-arrays, the AVX2 eight-row gathered walk, and the QuickScorer bitvectors, feature-major and tree-major) give the same scores bit for bit, on the credit LightGBM model and on rows with missing values,
/// over a row count that ends in a partial block.</summary>
[Collection(CreditModelsCollection.Name)]
public sealed unsafe class TreeLayoutTests(CreditModels credit)
{
    [Fact]
    public void Benchmarked_layouts_give_the_same_scores()
    {
        using var model = credit.Load("lightgbm");
        var width = credit.Features.FeatureCount;
        var names = Enumerable.Range(0, width).Select(i => $"f{i}").ToArray();
        var ensemble = model.TreeProgram("Features", names, out var reason)?.Ensemble;
        Assert.True(ensemble is not null, reason);
        const int rows = 1000;
        var columns = new float[width][];
        for (var f = 0; f < width; f++)
            columns[f] = Enumerable.Range(0, rows).Select(r => r % 11 == f ? float.NaN : credit.Matrix[r * width + f]).ToArray();
        var handles = columns.Select(c => GCHandle.Alloc(c, GCHandleType.Pinned)).ToArray();
        try
        {
            var pointers = handles.Select(h => h.AddrOfPinnedObject()).ToArray();
            var blocks = new float[rows];
            var rowMajor = new float[rows];
            var soa = new float[rows];
            ensemble!.Evaluate(pointers, rows, blocks);
            ensemble.Evaluate(pointers, rows, rowMajor, blockRows: 1);
            ensemble.EvaluateStructOfArrays(pointers, rows, soa);
            Assert.Equal(blocks, rowMajor);
            Assert.Equal(blocks, soa);
            if (ensemble.CanGather)
            {
                // rows - 3 leaves a tail that is not a multiple of the eight-row group.
                var matrix = new float[rows * width];
                for (var r = 0; r < rows; r++) for (var f = 0; f < width; f++) matrix[r * width + f] = columns[f][r];
                var gathered = new float[rows - 3];
                fixed (float* m = matrix) ensemble.EvaluateGathered(m, width, rows - 3, gathered);
                Assert.Equal(blocks[..(rows - 3)], gathered);
            }
            // The QuickScorer layout the scorer uses, at every block size the benchmark compares, over a row count that
            // ends in a partial group of eight (those rows go through the node walk).
            Assert.NotNull(ensemble.Bitvectors);
            foreach (var blockRows in (int[])[32, 64, 128, 256])
            {
                var bitvectors = new float[rows - 3];
                ensemble.EvaluateBitvectors(pointers, rows - 3, bitvectors, new byte[ensemble.BitvectorScratchBytes(blockRows)], blockRows);
                Assert.Equal(blocks[..(rows - 3)], bitvectors);
            }
            // The tree-major pass over the same bitvectors (what the scorer uses): groups of 64 rows, then of 8, then the
            // walk for the tail; leaves looked up by permute (AVX-512) and by gather (other CPUs). Both are exercised here
            // (a switch another test's scorer may see for a moment: it changes no result, only the instruction used).
            Assert.True(ensemble.CanEvaluateTreeMajor);
            foreach (var permute in (bool[])[true, false])
            {
                BitvectorEnsemble.UsePermute = permute;
                try
                {
                    foreach (var count in (int[])[rows, rows - 3, rows - 35, 7])
                    {
                        var treeMajor = new float[count];
                        ensemble.EvaluateTreeMajor(pointers, count, treeMajor);
                        Assert.Equal(blocks[..count], treeMajor);
                    }
                }
                finally { BitvectorEnsemble.UsePermute = true; }
            }
            Assert.Contains(blocks, s => s != blocks[0]);
        }
        finally
        {
            foreach (var h in handles) h.Free();
        }
    }
}
