using StreamMl.Images.Decoding;

namespace StreamMl.Images.Preprocessing;

/// <summary>A batch of preprocessed images as one contiguous float tensor [Count, 3, crop, crop] (the tensor column
/// a model reads), with each row's label and source. Reused across batches: <see cref="Clear"/> and fill again.</summary>
public sealed class ImageTensorBatch
{
    private readonly float[] _tensor;
    private readonly int[] _labels;
    private readonly string[] _sources;

    /// <summary>Creates a batch for up to <paramref name="capacity"/> images of <paramref name="geometry"/>.</summary>
    public ImageTensorBatch(int capacity, ImageGeometry? geometry = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Geometry = geometry ?? ImageGeometry.ImageNet;
        Capacity = capacity;
        _tensor = GC.AllocateUninitializedArray<float>(capacity * Geometry.TensorLength, pinned: true);
        _labels = new int[capacity];
        _sources = new string[capacity];
    }

    /// <summary>The images' geometry.</summary>
    public ImageGeometry Geometry { get; }

    /// <summary>Images the batch can hold.</summary>
    public int Capacity { get; }

    /// <summary>Images filled.</summary>
    public int Count { get; private set; }

    /// <summary>The filled part of the tensor, image after image.</summary>
    public Memory<float> Tensor => _tensor.AsMemory(0, Count * Geometry.TensorLength);

    /// <summary>Label index of each image (-1 when unlabelled).</summary>
    public ReadOnlySpan<int> Labels => _labels.AsSpan(0, Count);

    /// <summary>Where each image came from (file path, message key).</summary>
    public ReadOnlySpan<string> Sources => _sources.AsSpan(0, Count);

    /// <summary>True when no more images fit.</summary>
    public bool IsFull => Count == Capacity;

    /// <summary>The tensor slot of the next image, to be filled and then committed with <see cref="Commit"/>.</summary>
    public Span<float> NextSlot => _tensor.AsSpan(Count * Geometry.TensorLength, Geometry.TensorLength);

    /// <summary>Keeps the image written into <see cref="NextSlot"/>.</summary>
    public void Commit(int label, string source)
    {
        if (IsFull) throw new InvalidOperationException($"the image batch is full ({Capacity} images)");
        _labels[Count] = label;
        _sources[Count] = source;
        Count++;
    }

    /// <summary>Empties the batch for reuse.</summary>
    public void Clear() => Count = 0;
}
