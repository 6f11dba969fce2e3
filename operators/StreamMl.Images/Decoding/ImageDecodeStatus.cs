namespace StreamMl.Images.Decoding;

/// <summary>What became of one encoded image.</summary>
public enum ImageDecodeStatus
{
    /// <summary>Decoded and preprocessed.</summary>
    Ok,
    /// <summary>The bytes are not an image format the decoder knows (for example a text file named .png).</summary>
    UnknownFormat,
    /// <summary>The image ends before its last row (a truncated download or copy).</summary>
    Truncated,
    /// <summary>The image's header or data is damaged.</summary>
    Corrupt,
    /// <summary>The file holds no bytes.</summary>
    Empty,
}

/// <summary>Facts about <see cref="ImageDecodeStatus"/> values.</summary>
public static class ImageDecodeStatuses
{
    /// <summary>The reason written into a dead letter, in the user's words.</summary>
    public static string Reason(ImageDecodeStatus status) => status switch
    {
        ImageDecodeStatus.Ok => "ok",
        ImageDecodeStatus.UnknownFormat => "not a JPEG or PNG image (unknown format)",
        ImageDecodeStatus.Truncated => "the image is truncated: its data ends before the last row",
        ImageDecodeStatus.Corrupt => "the image data is damaged and cannot be decoded",
        ImageDecodeStatus.Empty => "the image is empty (0 bytes)",
        _ => status.ToString(),
    };
}
