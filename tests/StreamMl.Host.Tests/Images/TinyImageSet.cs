namespace StreamMl.Host.Tests.Images;

/// <summary>A few images of three well-separated caltech20 classes copied into a class-per-folder tree, so an images
/// training spec runs in seconds.</summary>
internal static class TinyImageSet
{
    /// <summary>The classes, in the order their folders are written.</summary>
    public static readonly string[] Classes = ["galaxy", "owl", "school-bus"];

    /// <summary>Copies the first <paramref name="perClass"/> images (by file name) of each class into
    /// <c><paramref name="root"/>/data/CLASS/</c> and returns that folder.</summary>
    public static string Copy(string root, int perClass)
    {
        var data = Path.Combine(root, "data");
        foreach (var name in Classes)
        {
            Directory.CreateDirectory(Path.Combine(data, name));
            foreach (var file in Directory.GetFiles(SharedData.File("caltech20", name)).Order(StringComparer.Ordinal).Take(perClass))
                File.Copy(file, Path.Combine(data, name, Path.GetFileName(file)));
        }
        return data;
    }
}
