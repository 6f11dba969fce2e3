using System.Buffers.Binary;

namespace StreamMl.Engine;

/// <summary>Checks Arrow IPC bytes from outside the process before Apache.Arrow reads them. Apache.Arrow reads a
/// schema's nested types by recursion, so a schema nested a hundred thousand levels deep (a few megabytes) overflows
/// the stack, which ends the process; and a schema whose children share a subtree is read once per path. This walks
/// the schema message's flatbuffer without recursion and refuses such a schema first.</summary>
public static class ArrowIpcGuard
{
    /// <summary>How deeply types may nest (a list of structs of lists ... ); StreamMl's own columns do not nest at all.</summary>
    public const int MaxNesting = 64;

    /// <summary>How many fields, nested ones included, a schema may have.</summary>
    public const int MaxFields = 100_000;

    private const int SchemaHeader = 1; // flatbuf MessageHeader.Schema
    private const int MessageHeaderType = 1, MessageHeader = 2; // Message: version, header_type, header, bodyLength
    private const int SchemaFields = 1; // Schema: endianness, fields, custom_metadata, features
    private const int FieldChildren = 5; // Field: name, nullable, type_type, type, dictionary, children, custom_metadata

    /// <summary>Throws a <see cref="SchemaMismatchException"/> when the schema at the start of the Arrow IPC stream
    /// <paramref name="stream"/> nests deeper than <see cref="MaxNesting"/> or has more than <see cref="MaxFields"/>
    /// fields. Bytes that are not a schema message are left to the Arrow reader to refuse.</summary>
    public static void CheckSchema(ReadOnlySpan<byte> stream)
    {
        if (stream.Length < 8) return;
        var start = 4;
        var length = BinaryPrimitives.ReadInt32LittleEndian(stream);
        if (length == -1)
        {
            length = BinaryPrimitives.ReadInt32LittleEndian(stream[4..]);
            start = 8;
        }
        if (length <= 0 || length > stream.Length - start) return;
        var message = stream.Slice(start, length);
        if (!TryRoot(message, out var root)) return;
        if (!TryField(message, root, MessageHeaderType, out var headerType) || headerType >= message.Length || message[headerType] != SchemaHeader) return;
        if (!TryReference(message, root, MessageHeader, out var schema)) return;
        if (!TryReference(message, schema, SchemaFields, out var fields)) return;

        // Depth-first over (vector of fields, depth), with an explicit stack instead of the reader's recursion.
        var pending = new Stack<(int Vector, int Depth)>();
        pending.Push((fields, 1));
        var seen = 0;
        while (pending.TryPop(out var next))
        {
            if (!TryVectorLength(message, next.Vector, out var count) || count == 0) continue;
            if (next.Depth > MaxNesting)
                throw new SchemaMismatchException(
                    $"the Arrow schema nests types more than {MaxNesting} levels deep; StreamMl reads flat columns (numbers, bools, timestamps, strings)");
            for (var i = 0; i < count; i++)
            {
                if (++seen > MaxFields)
                    throw new SchemaMismatchException($"the Arrow schema has more than {MaxFields:N0} fields (nested ones included)");
                var element = next.Vector + 4 + 4 * i;
                if (!TryDereference(message, element, out var field)) continue;
                if (TryReference(message, field, FieldChildren, out var children)) pending.Push((children, next.Depth + 1));
            }
        }
    }

    private static bool TryRoot(ReadOnlySpan<byte> buffer, out int table) => TryDereference(buffer, 0, out table);

    /// <summary>The position of field <paramref name="index"/> of the table at <paramref name="table"/>; false when absent.</summary>
    private static bool TryField(ReadOnlySpan<byte> buffer, int table, int index, out int position)
    {
        position = 0;
        if (table < 0 || table > buffer.Length - 4) return false;
        var vtable = (long)table - BinaryPrimitives.ReadInt32LittleEndian(buffer[table..]);
        if (vtable < 0 || vtable > buffer.Length - 4) return false;
        var vtableSize = BinaryPrimitives.ReadUInt16LittleEndian(buffer[(int)vtable..]);
        var entry = 4 + 2 * index;
        if (entry + 2 > vtableSize || vtable + entry + 2 > buffer.Length) return false;
        var offset = BinaryPrimitives.ReadUInt16LittleEndian(buffer[(int)(vtable + entry)..]);
        if (offset == 0) return false;
        position = table + offset;
        return position <= buffer.Length - 1;
    }

    /// <summary>The table or vector that field <paramref name="index"/> of a table refers to.</summary>
    private static bool TryReference(ReadOnlySpan<byte> buffer, int table, int index, out int target)
    {
        target = 0;
        return TryField(buffer, table, index, out var position) && TryDereference(buffer, position, out target);
    }

    /// <summary>Follows the unsigned offset stored at <paramref name="position"/>.</summary>
    private static bool TryDereference(ReadOnlySpan<byte> buffer, int position, out int target)
    {
        target = 0;
        if (position < 0 || position > buffer.Length - 4) return false;
        var value = (long)position + BinaryPrimitives.ReadUInt32LittleEndian(buffer[position..]);
        if (value > buffer.Length - 4) return false;
        target = (int)value;
        return true;
    }

    private static bool TryVectorLength(ReadOnlySpan<byte> buffer, int vector, out int count)
    {
        count = 0;
        if (vector < 0 || vector > buffer.Length - 4) return false;
        var length = BinaryPrimitives.ReadUInt32LittleEndian(buffer[vector..]);
        if (length > (uint)((buffer.Length - vector - 4) / 4)) return false;
        count = (int)length;
        return true;
    }
}
