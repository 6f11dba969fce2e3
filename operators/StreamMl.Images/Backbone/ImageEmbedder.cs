using System.Security.Cryptography;
using StreamMl.Engine;
using StreamMl.Images.Onnx;
using StreamMl.Images.Preprocessing;
using StreamMl.Images.Sources;

namespace StreamMl.Images.Backbone;

/// <summary>Embeds image files with a featurizer in batches, taking what it can from an <see cref="EmbeddingCache"/>
/// (keyed by the SHA-256 of each file's bytes). Images that cannot be decoded become dead letters and are left out.</summary>
public sealed class ImageEmbedder(ImageModelSession featurizer, int batchSize = 16)
{
    /// <summary>Embeds <paramref name="images"/>; <paramref name="cache"/> may be null.</summary>
    public EmbeddedImages Embed(IReadOnlyList<LabelledImage> images, IDeadLetterSink deadLetters, EmbeddingCache? cache = null)
    {
        var width = featurizer.OutputWidths[featurizer.Outputs.ToList().IndexOf(ImageModels.Embedding)];
        var results = new float[images.Count][];
        using var preprocessor = new ImagePreprocessor();
        var reader = new ImageBatchReader(preprocessor, deadLetters, "train");
        var batch = new ImageTensorBatch(batchSize);
        var pending = new List<(int Index, string Hash)>(batchSize);
        var output = new float[batchSize * width];
        int computed = 0, cached = 0;

        void Flush()
        {
            if (batch.Count == 0) return;
            featurizer.Run(batch.Tensor, batch.Count, ImageModels.Embedding, output);
            for (var i = 0; i < batch.Count; i++)
            {
                var embedding = output.AsSpan(i * width, width);
                results[pending[i].Index] = embedding.ToArray();
                cache?.Add(pending[i].Hash, embedding);
            }
            computed += batch.Count;
            batch.Clear();
            pending.Clear();
        }

        for (var i = 0; i < images.Count; i++)
        {
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(images[i].Path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                deadLetters.Write(new DeadLetter("train", ImageBatchReader.Stage, "read", $"the file cannot be read: {e.Message}", images[i].Path, 0, 0, ""));
                continue;
            }
            var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
            if (cache?.Find(hash) is { } known)
            {
                results[i] = known;
                cached++;
                continue;
            }
            if (reader.Add(batch, bytes, images[i].Label, images[i].Path)) pending.Add((i, hash));
            if (batch.IsFull) Flush();
        }
        Flush();
        cache?.Save();

        var kept = Enumerable.Range(0, images.Count).Where(i => results[i] is not null).ToArray();
        var matrix = new float[kept.Length * width];
        for (var r = 0; r < kept.Length; r++) results[kept[r]].CopyTo(matrix, r * width);
        return new EmbeddedImages([.. kept.Select(i => images[i])], matrix, width, computed, cached);
    }
}

/// <summary>The embeddings of the images that could be read, row-major [Images.Count, Width].</summary>
/// <param name="Images">The images embedded, in input order (unreadable ones left out).</param>
/// <param name="Embeddings">Their embeddings.</param>
/// <param name="Width">Values per embedding.</param>
/// <param name="Computed">Embeddings computed by the featurizer in this call.</param>
/// <param name="FromCache">Embeddings taken from the cache.</param>
public sealed record EmbeddedImages(IReadOnlyList<LabelledImage> Images, float[] Embeddings, int Width, int Computed, int FromCache);
