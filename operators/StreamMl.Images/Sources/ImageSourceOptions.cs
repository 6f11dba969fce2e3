namespace StreamMl.Images.Sources;

/// <summary>Where an <see cref="ImageFileSource"/> finds images and how it remembers them.</summary>
public sealed record ImageSourceOptions
{
    /// <summary>A folder (class = sub-folder name; files directly in it are unlabelled) or a glob such as
    /// <c>photos/**/*.jpg</c> (<c>**</c> any folders, <c>*</c> any characters but <c>/</c>, <c>?</c> one; class = the
    /// file's folder name below the glob's fixed part, none directly in it).</summary>
    public required string Path { get; init; }

    /// <summary>Keep listing the folder for new images after the existing ones (default false: end after them).</summary>
    public bool Watch { get; init; }

    /// <summary>How often a watched folder is listed again (default 1 s). A new file is taken once its size is the
    /// same in two listings, so a file still being copied is not read half-written.</summary>
    public TimeSpan WatchInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A JSON file recording the images seen, in order, and how many of them every sink has made durable;
    /// written atomically at each commit. A restart skips the committed images and reads the rest in the same order,
    /// with the same positions (default null: every run starts over).</summary>
    public string? CheckpointPath { get; init; }
}
