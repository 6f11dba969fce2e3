using System.Globalization;
using Parquet;
using Parquet.Schema;
using StreamMl.Engine;

namespace StreamMl.Images.Backbone;

/// <summary>Embeddings already computed, keyed by the SHA-256 of the encoded image, kept in a Parquet file with a
/// <c>sha256</c> string column and one float column per embedding value (<c>e000</c>, <c>e001</c>, ...), so any
/// Parquet reader can open it. The file name should name the featurizer: a cache is only valid for one model and
/// one geometry.</summary>
public sealed class EmbeddingCache
{
    private readonly Dictionary<string, float[]> _entries = new(StringComparer.Ordinal);
    private readonly int _width;
    private bool _changed;

    private EmbeddingCache(string path, int width)
    {
        Path = path;
        _width = width;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Embeddings held.</summary>
    public int Count => _entries.Count;

    /// <summary>Opens the cache at <paramref name="path"/> (empty when the file does not exist yet). A file that cannot
    /// be read or has another width is ignored and rewritten: the cache only saves time.</summary>
    public static EmbeddingCache Open(string path, int width)
    {
        var cache = new EmbeddingCache(path, width);
        if (File.Exists(path))
        {
            try
            {
                cache.Load();
            }
            catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or ArgumentException or InvalidOperationException)
            {
                cache._entries.Clear();
                cache._changed = true;
            }
        }
        return cache;
    }

    /// <summary>The embedding of the image with hash <paramref name="sha256"/>, or null.</summary>
    public float[]? Find(string sha256) => _entries.GetValueOrDefault(sha256);

    /// <summary>Adds an embedding (copied).</summary>
    public void Add(string sha256, ReadOnlySpan<float> embedding)
    {
        if (embedding.Length != _width) throw new ArgumentException($"the cache holds {_width}-wide embeddings, not {embedding.Length}");
        _entries[sha256] = embedding.ToArray();
        _changed = true;
    }

    /// <summary>Writes the file when anything was added (to a temporary file first, then moved into place).</summary>
    public void Save()
    {
        if (!_changed) return;
        var fields = Fields(_width);
        var hash = new DataField<string>("sha256");
        var keys = _entries.Keys.Order(StringComparer.Ordinal).ToArray();
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
        var temporary = Path + ".tmp";
        using (var stream = File.Create(temporary))
        {
            var writer = ParquetWriter.CreateAsync(new ParquetSchema([hash, .. fields]), stream).GetAwaiter().GetResult();
            try
            {
                using var group = writer.CreateRowGroup();
                group.WriteAsync(hash, keys).GetAwaiter().GetResult();
                var column = new float[keys.Length];
                for (var f = 0; f < _width; f++)
                {
                    for (var r = 0; r < keys.Length; r++) column[r] = _entries[keys[r]][f];
                    group.WriteAsync(fields[f], (ReadOnlyMemory<float>)column).GetAwaiter().GetResult();
                }
            }
            finally
            {
                writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
        File.Move(temporary, Path, overwrite: true);
        _changed = false;
    }

    private void Load()
    {
        using var stream = File.OpenRead(Path);
        var reader = ParquetReader.CreateAsync(stream).GetAwaiter().GetResult();
        try
        {
            Load(reader);
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private void Load(ParquetReader reader)
    {
        // Read through the file's own fields: they carry its definition levels.
        var hash = reader.Schema.DataFields[0];
        var fields = reader.Schema.DataFields[1..];
        if (fields.Length != _width || hash.Name != "sha256") throw new InvalidDataException("another embedding width");
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var rows = checked((int)group.RowCount);
            var keys = new string?[rows];
            group.ReadAsync(hash, keys.AsMemory()).GetAwaiter().GetResult();
            var values = new float[rows][];
            for (var r = 0; r < rows; r++) values[r] = new float[_width];
            var column = new float[rows];
            for (var f = 0; f < _width; f++)
            {
                group.ReadAsync(fields[f], column.AsMemory()).GetAwaiter().GetResult();
                for (var r = 0; r < rows; r++) values[r][f] = column[r];
            }
            for (var r = 0; r < rows; r++)
                if (keys[r] is { } key) _entries[key] = values[r];
        }
    }

    private static DataField<float>[] Fields(int width) =>
        [.. Enumerable.Range(0, width).Select(f => new DataField<float>("e" + f.ToString("D3", CultureInfo.InvariantCulture)))];
}
