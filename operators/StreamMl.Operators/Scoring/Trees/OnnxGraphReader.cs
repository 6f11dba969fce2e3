using System.Buffers.Binary;
using System.Text;

namespace StreamMl.Operators.Scoring.Trees;

/// <summary>One attribute of an ONNX node: the scalar, list and string fields the tree evaluator reads.</summary>
internal sealed class OnnxAttribute
{
    public string Name { get; set; } = "";
    public float F { get; set; }
    public long I { get; set; }
    public string? S { get; set; }
    public List<float> Floats { get; } = [];
    public List<long> Ints { get; } = [];
    public List<string> Strings { get; } = [];
    public bool HasTensor { get; set; }
}

/// <summary>One ONNX node: op type, domain, inputs, outputs and attributes by name.</summary>
internal sealed class OnnxNode
{
    public string OpType { get; set; } = "";
    public string Domain { get; set; } = "";
    public List<string> Inputs { get; } = [];
    public List<string> Outputs { get; } = [];
    public Dictionary<string, OnnxAttribute> Attributes { get; } = new(StringComparer.Ordinal);
}

/// <summary>An ONNX graph as far as the tree evaluator needs it: nodes in file order, float initializers, and the names
/// of the graph's inputs and outputs.</summary>
internal sealed class OnnxGraph
{
    public List<OnnxNode> Nodes { get; } = [];
    public Dictionary<string, float[]> FloatInitializers { get; } = new(StringComparer.Ordinal);
    public HashSet<string> OtherInitializers { get; } = new(StringComparer.Ordinal);
    public List<string> Inputs { get; } = [];
    public List<string> Outputs { get; } = [];
}

/// <summary>Reads ModelProto → GraphProto → NodeProto → AttributeProto from ONNX protobuf bytes by field number (ONNX
/// Runtime does not expose node attributes). Only the fields the tree evaluator uses are kept; everything else is
/// skipped by wire type. Malformed bytes throw <see cref="InvalidDataException"/>.</summary>
internal static class OnnxGraphReader
{
    public static OnnxGraph Read(ReadOnlySpan<byte> model)
    {
        var graph = new OnnxGraph();
        var reader = new Reader(model);
        while (reader.Next(out var field, out var wire))
        {
            if (field == 7 && wire == 2) ReadGraph(reader.Bytes(), graph);
            else reader.Skip(wire);
        }
        return graph;
    }

    private static void ReadGraph(ReadOnlySpan<byte> bytes, OnnxGraph graph)
    {
        var reader = new Reader(bytes);
        while (reader.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1 when wire == 2: graph.Nodes.Add(ReadNode(reader.Bytes())); break;
                case 5 when wire == 2: ReadInitializer(reader.Bytes(), graph); break;
                case 11 when wire == 2: graph.Inputs.Add(ValueInfoName(reader.Bytes())); break;
                case 12 when wire == 2: graph.Outputs.Add(ValueInfoName(reader.Bytes())); break;
                default: reader.Skip(wire); break;
            }
        }
    }

    private static string ValueInfoName(ReadOnlySpan<byte> bytes)
    {
        var reader = new Reader(bytes);
        while (reader.Next(out var field, out var wire))
        {
            if (field == 1 && wire == 2) return reader.String();
            reader.Skip(wire);
        }
        return "";
    }

    private static OnnxNode ReadNode(ReadOnlySpan<byte> bytes)
    {
        var node = new OnnxNode();
        var reader = new Reader(bytes);
        while (reader.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1 when wire == 2: node.Inputs.Add(reader.String()); break;
                case 2 when wire == 2: node.Outputs.Add(reader.String()); break;
                case 4 when wire == 2: node.OpType = reader.String(); break;
                case 7 when wire == 2: node.Domain = reader.String(); break;
                case 5 when wire == 2:
                    var attribute = ReadAttribute(reader.Bytes());
                    node.Attributes[attribute.Name] = attribute;
                    break;
                default: reader.Skip(wire); break;
            }
        }
        return node;
    }

    private static OnnxAttribute ReadAttribute(ReadOnlySpan<byte> bytes)
    {
        var attribute = new OnnxAttribute();
        var reader = new Reader(bytes);
        while (reader.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1 when wire == 2: attribute.Name = reader.String(); break;
                case 2 when wire == 5: attribute.F = reader.Fixed32(); break;
                case 3 when wire == 0: attribute.I = (long)reader.Varint(); break;
                case 4 when wire == 2: attribute.S = reader.String(); break;
                case 5 when wire == 2: attribute.HasTensor = true; reader.Skip(wire); break;
                case 7 when wire == 5: attribute.Floats.Add(reader.Fixed32()); break;
                case 7 when wire == 2:
                    var packed = reader.Bytes();
                    if (packed.Length % 4 != 0) throw new InvalidDataException("packed float list has a length that is not a multiple of 4");
                    for (var i = 0; i < packed.Length; i += 4) attribute.Floats.Add(BinaryPrimitives.ReadSingleLittleEndian(packed[i..]));
                    break;
                case 8 when wire == 0: attribute.Ints.Add((long)reader.Varint()); break;
                case 8 when wire == 2:
                    var ints = new Reader(reader.Bytes());
                    while (!ints.AtEnd) attribute.Ints.Add((long)ints.Varint());
                    break;
                case 9 when wire == 2: attribute.Strings.Add(reader.String()); break;
                default: reader.Skip(wire); break;
            }
        }
        return attribute;
    }

    private static void ReadInitializer(ReadOnlySpan<byte> bytes, OnnxGraph graph)
    {
        var reader = new Reader(bytes);
        string name = "";
        long type = 0;
        var floats = new List<float>();
        var raw = ReadOnlySpan<byte>.Empty;
        var hasRaw = false;
        while (reader.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 2 when wire == 0: type = (long)reader.Varint(); break;
                case 4 when wire == 5: floats.Add(reader.Fixed32()); break;
                case 4 when wire == 2:
                    var packed = reader.Bytes();
                    for (var i = 0; i + 4 <= packed.Length; i += 4) floats.Add(BinaryPrimitives.ReadSingleLittleEndian(packed[i..]));
                    break;
                case 8 when wire == 2: name = reader.String(); break;
                case 9 when wire == 2: raw = reader.Bytes(); hasRaw = true; break;
                default: reader.Skip(wire); break;
            }
        }
        if (type != 1) { graph.OtherInitializers.Add(name); return; }
        if (hasRaw)
        {
            floats.Clear();
            for (var i = 0; i + 4 <= raw.Length; i += 4) floats.Add(BinaryPrimitives.ReadSingleLittleEndian(raw[i..]));
        }
        graph.FloatInitializers[name] = [.. floats];
    }

    private ref struct Reader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _position;

        public readonly bool AtEnd => _position >= _bytes.Length;

        public bool Next(out int field, out int wire)
        {
            if (AtEnd) { field = 0; wire = 0; return false; }
            var key = Varint();
            field = (int)(key >> 3);
            wire = (int)(key & 7);
            return true;
        }

        public ulong Varint()
        {
            ulong result = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_position >= _bytes.Length) throw new InvalidDataException("truncated varint");
                var b = _bytes[_position++];
                result |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80) return result;
            }
            throw new InvalidDataException("varint longer than 10 bytes");
        }

        public float Fixed32()
        {
            if (_position + 4 > _bytes.Length) throw new InvalidDataException("truncated fixed32");
            var value = BinaryPrimitives.ReadSingleLittleEndian(_bytes[_position..]);
            _position += 4;
            return value;
        }

        public ReadOnlySpan<byte> Bytes()
        {
            var length = Varint();
            if (length > (ulong)(_bytes.Length - _position)) throw new InvalidDataException("length-delimited field runs past its message");
            var slice = _bytes.Slice(_position, (int)length);
            _position += (int)length;
            return slice;
        }

        public string String() => Encoding.UTF8.GetString(Bytes());

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: Advance(8); break;
                case 2: Bytes(); break;
                case 5: Advance(4); break;
                default: throw new InvalidDataException($"unsupported protobuf wire type {wire}");
            }
        }

        private void Advance(int count)
        {
            if (_position + count > _bytes.Length) throw new InvalidDataException("truncated field");
            _position += count;
        }
    }
}
