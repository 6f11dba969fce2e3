using StreamMl.Engine;
using StreamMl.Images.Decoding;
using StreamMl.Images.Preprocessing;

namespace StreamMl.Images.Sources;

/// <summary>Fills <see cref="ImageTensorBatch"/>es from image files or from encoded bytes (a binary column: Kafka
/// values, gRPC payloads, Parquet byte arrays). An image that cannot be read or decoded becomes a dead letter
/// naming the file (or key) and the reason, and the reader goes on with the next.</summary>
public sealed class ImageBatchReader(ImagePreprocessor preprocessor, IDeadLetterSink deadLetters, string pipeline = "images")
{
    private byte[] _fileBuffer = new byte[1 << 20];

    /// <summary>The stage name written into dead letters.</summary>
    public const string Stage = "image-decode";

    /// <summary>Images rejected so far.</summary>
    public long Rejected { get; private set; }

    /// <summary>Decodes <paramref name="encoded"/> into <paramref name="batch"/>'s next slot; false (and a dead
    /// letter for <paramref name="source"/>) when the bytes are not a readable image.</summary>
    public bool Add(ImageTensorBatch batch, ReadOnlySpan<byte> encoded, int label, string source, long offset = 0)
    {
        var status = preprocessor.Preprocess(encoded, batch.NextSlot);
        if (status != ImageDecodeStatus.Ok)
        {
            Reject(source, offset, ImageDecodeStatuses.Reason(status), status.ToString().ToLowerInvariant());
            return false;
        }
        batch.Commit(label, source);
        return true;
    }

    /// <summary>Reads and decodes one file into <paramref name="batch"/>; false (and a dead letter) when it cannot.</summary>
    public bool AddFile(ImageTensorBatch batch, LabelledImage image)
    {
        int length;
        try
        {
            using var file = new FileStream(image.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            if (file.Length > Array.MaxLength)
            {
                Reject(image.Path, 0, $"the file is too large to be an image ({file.Length} bytes)", "read");
                return false;
            }
            if (file.Length > _fileBuffer.Length) _fileBuffer = new byte[Math.Max((int)file.Length, _fileBuffer.Length * 2)];
            length = file.ReadAtLeast(_fileBuffer, (int)file.Length, throwOnEndOfStream: false);
        }
        catch (IOException e)
        {
            Reject(image.Path, 0, $"the file cannot be read: {e.Message}", "read");
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            Reject(image.Path, 0, "the file cannot be read: permission denied", "read");
            return false;
        }
        return Add(batch, _fileBuffer.AsSpan(0, length), image.Label, image.Path);
    }

    /// <summary>Fills <paramref name="batch"/> (cleared first) from <paramref name="images"/> starting at
    /// <paramref name="next"/>; returns the index after the last image read. Rejected images are skipped.</summary>
    public int Fill(ImageTensorBatch batch, IReadOnlyList<LabelledImage> images, int next)
    {
        batch.Clear();
        while (next < images.Count && !batch.IsFull) AddFile(batch, images[next++]);
        return next;
    }

    private void Reject(string source, long offset, string reason, string rule)
    {
        Rejected++;
        deadLetters.Write(new DeadLetter(pipeline, Stage, rule, reason, source, 0, offset, ""));
    }
}
