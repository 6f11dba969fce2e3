namespace StreamMl.Connectors;

/// <summary>The protobuf scalar type of an integer field, as declared in the <c>.proto</c> file. The wire format alone
/// cannot tell <c>int64</c> from <c>sint64</c> (both are varints, but <c>sint</c> values are zigzag-encoded), so a
/// column whose field is not a plain <c>int32</c>/<c>int64</c> must say so in <see cref="MessageCodecOptions.ProtobufTypes"/>.</summary>
public enum ProtobufScalar
{
    /// <summary>The default for int32 columns: a two's-complement varint (negative values take ten bytes).</summary>
    Int32,
    /// <summary>The default for int64 and numeric timestamp columns: a two's-complement varint.</summary>
    Int64,
    /// <summary>An unsigned varint; into an int32 column values above 2,147,483,647 are rejected.</summary>
    UInt32,
    /// <summary>An unsigned varint; values above 9,223,372,036,854,775,807 are rejected.</summary>
    UInt64,
    /// <summary>A zigzag-encoded varint (<c>sint32</c>).</summary>
    SInt32,
    /// <summary>A zigzag-encoded varint (<c>sint64</c>).</summary>
    SInt64,
    /// <summary>Four little-endian bytes, unsigned (<c>fixed32</c>).</summary>
    Fixed32,
    /// <summary>Eight little-endian bytes, unsigned (<c>fixed64</c>).</summary>
    Fixed64,
    /// <summary>Four little-endian bytes, signed (<c>sfixed32</c>).</summary>
    SFixed32,
    /// <summary>Eight little-endian bytes, signed (<c>sfixed64</c>).</summary>
    SFixed64,
}
