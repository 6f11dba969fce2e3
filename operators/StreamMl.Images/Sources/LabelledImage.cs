namespace StreamMl.Images.Sources;

/// <summary>One image file and the index of its class (-1 when unlabelled).</summary>
/// <param name="Path">The file.</param>
/// <param name="Label">Index into the dataset's classes, or -1.</param>
public sealed record LabelledImage(string Path, int Label);
