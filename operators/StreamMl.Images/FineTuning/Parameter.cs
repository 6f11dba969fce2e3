namespace StreamMl.Images.FineTuning;

/// <summary>A trainable tensor: its values, the gradient of the loss and the optimiser's momentum.</summary>
/// <param name="Name">Where it comes from (the ONNX initialiser or the head).</param>
/// <param name="Value">The values.</param>
/// <param name="Decays">Whether weight decay applies (weights yes, biases no).</param>
internal sealed record Parameter(string Name, float[] Value, bool Decays)
{
    /// <summary>The gradient accumulated by the last backward pass.</summary>
    public float[] Gradient { get; } = new float[Value.Length];

    /// <summary>SGD momentum.</summary>
    public float[] Velocity { get; } = new float[Value.Length];
}
