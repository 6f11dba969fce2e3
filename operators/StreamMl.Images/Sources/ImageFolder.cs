using StreamMl.Engine;

namespace StreamMl.Images.Sources;

/// <summary>A folder tree of images where each sub-folder is a class (<c>root/&lt;class&gt;/&lt;file&gt;.jpg</c>), or a
/// flat folder of unlabelled images. Files are listed in ordinal path order, so every run sees the same order.</summary>
public sealed class ImageFolder
{
    /// <summary>File extensions read as images (case-insensitive).</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".jpg", ".jpeg", ".png"];

    private ImageFolder(string root, IReadOnlyList<string> classes, IReadOnlyList<LabelledImage> images)
    {
        Root = root;
        Classes = classes;
        Images = images;
    }

    /// <summary>The folder.</summary>
    public string Root { get; }

    /// <summary>Class names (sub-folder names, ordinal order); empty for a flat folder.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>The images, class by class.</summary>
    public IReadOnlyList<LabelledImage> Images { get; }

    /// <summary>Lists the images under <paramref name="root"/>: labelled by sub-folder when it has sub-folders with
    /// images, otherwise the folder's own images unlabelled. Throws a <see cref="BadInputException"/> naming the
    /// folder when it is missing or holds no image.</summary>
    public static ImageFolder Open(string root)
    {
        if (!Directory.Exists(root))
            throw new BadInputException("the image folder does not exist", root);
        var classes = Directory.EnumerateDirectories(root)
            .Where(d => ImageFiles(d).Any())
            .Select(Path.GetFileName).OfType<string>()
            .Order(StringComparer.Ordinal).ToArray();
        List<LabelledImage> images = [];
        if (classes.Length == 0)
            images.AddRange(ImageFiles(root).Select(f => new LabelledImage(f, -1)));
        for (var c = 0; c < classes.Length; c++)
            images.AddRange(ImageFiles(Path.Combine(root, classes[c])).Select(f => new LabelledImage(f, c)));
        if (images.Count == 0)
            throw new BadInputException($"no image files ({string.Join(", ", Extensions)}) in the folder or its class folders", root);
        return new ImageFolder(root, classes, images);
    }

    private static IEnumerable<string> ImageFiles(string folder) =>
        Directory.EnumerateFiles(folder)
            .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal);

    /// <summary>Splits the images per class: a seeded shuffle of each class, its first
    /// <c>round(count · <paramref name="holdOut"/>)</c> images (at least one when the class has two) held out.</summary>
    public (IReadOnlyList<LabelledImage> Train, IReadOnlyList<LabelledImage> Test) StratifiedSplit(double holdOut, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(holdOut);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(holdOut, 1.0);
        var random = new Random(seed);
        List<LabelledImage> train = [], test = [];
        foreach (var group in Images.GroupBy(i => i.Label).OrderBy(g => g.Key))
        {
            var members = group.ToArray();
            random.Shuffle(members);
            var held = (int)Math.Round(members.Length * holdOut, MidpointRounding.AwayFromZero);
            if (held == 0 && holdOut > 0 && members.Length > 1) held = 1;
            test.AddRange(members[..held]);
            train.AddRange(members[held..]);
        }
        return (train, test);
    }
}
