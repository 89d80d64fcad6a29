using System.Text;

namespace DpIqa.Models;

/// <summary>
/// Just enough of the protobuf wire format and of onnx.proto (IR version 8, field numbers from onnx/onnx.proto)
/// to write small models from C#, so the project can ship a model it builds itself instead of a binary blob.
/// </summary>
internal sealed class ProtoWriter
{
    private readonly MemoryStream _buffer = new();

    public byte[] ToArray() => _buffer.ToArray();

    private void Varint(ulong v)
    {
        while (v >= 0x80) { _buffer.WriteByte((byte)(v | 0x80)); v >>= 7; }
        _buffer.WriteByte((byte)v);
    }

    private void Tag(int field, int wireType) => Varint((ulong)((field << 3) | wireType));

    public ProtoWriter Int(int field, long value) { Tag(field, 0); Varint((ulong)value); return this; }

    public ProtoWriter Float(int field, float value) { Tag(field, 5); Span<byte> b = stackalloc byte[4]; BitConverter.TryWriteBytes(b, value); _buffer.Write(b); return this; }

    public ProtoWriter Bytes(int field, ReadOnlySpan<byte> value) { Tag(field, 2); Varint((ulong)value.Length); _buffer.Write(value); return this; }

    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public ProtoWriter Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

    public ProtoWriter PackedInts(int field, IEnumerable<long> values)
    {
        var inner = new ProtoWriter();
        foreach (var v in values) inner.Varint((ulong)v);
        return Bytes(field, inner.ToArray());
    }
}

/// <summary>Builds an ONNX graph node by node (opset 17, default domain).</summary>
internal sealed class OnnxGraph(string name)
{
    private const int ElemFloat = 1, ElemInt64 = 7;
    private readonly List<ProtoWriter> _nodes = [];
    private readonly List<ProtoWriter> _initializers = [];
    private readonly List<ProtoWriter> _inputs = [];
    private readonly List<ProtoWriter> _outputs = [];
    private int _next;

    public const int Opset = 17;

    public string Input(string inputName, params object[] dims) { _inputs.Add(ValueInfo(inputName, dims)); return inputName; }

    public void Output(string outputName, params object[] dims) => _outputs.Add(ValueInfo(outputName, dims));

    public string Constant(float[] values, params long[] dims)
    {
        var n = $"const_{_next++}";
        var raw = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
        _initializers.Add(new ProtoWriter().PackedInts(1, dims).Int(2, ElemFloat).String(8, n).Bytes(9, raw));
        return n;
    }

    public string Scalar(float value) => Constant([value]);

    /// <summary>
    /// A float32 initializer whose bytes live in an external-data file beside the model (<c>location</c> relative to
    /// the model's folder, at <paramref name="offset"/>, <paramref name="length"/> bytes), as exporters write models
    /// over protobuf's 2 GB limit.
    /// </summary>
    public string ExternalConstant(string location, long offset, long length, params long[] dims)
    {
        var n = $"weight_{_next++}";
        var tensor = new ProtoWriter().PackedInts(1, dims).Int(2, ElemFloat).String(8, n);
        foreach (var (key, value) in new[] { ("location", location), ("offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("length", length.ToString(System.Globalization.CultureInfo.InvariantCulture)) })
            tensor.Message(13, new ProtoWriter().String(1, key).String(2, value));
        tensor.Int(14, 1); // data_location = EXTERNAL
        _initializers.Add(tensor);
        return n;
    }

    public string Int64s(params long[] values)
    {
        var n = $"const_{_next++}";
        var raw = new byte[values.Length * 8];
        Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
        _initializers.Add(new ProtoWriter().PackedInts(1, [values.Length]).Int(2, ElemInt64).String(8, n).Bytes(9, raw));
        return n;
    }

    /// <summary>Adds a node; attributes are (name, long | long[] | float).</summary>
    public string Node(string op, string[] inputs, string? output = null, params (string Name, object Value)[] attributes)
    {
        output ??= $"{op.ToLowerInvariant()}_{_next++}";
        var node = new ProtoWriter();
        foreach (var i in inputs) node.String(1, i);
        node.String(2, output).String(3, output).String(4, op);
        foreach (var (attrName, value) in attributes)
        {
            var a = new ProtoWriter().String(1, attrName);
            switch (value)
            {
                case float f: a.Float(2, f).Int(20, 1); break;
                case long l: a.Int(3, l).Int(20, 2); break;
                case int i: a.Int(3, i).Int(20, 2); break;
                case long[] ls: a.PackedInts(8, ls).Int(20, 7); break;
                default: throw new ArgumentException($"unsupported attribute type {value.GetType()}");
            }
            node.Message(5, a);
        }
        _nodes.Add(node);
        return output;
    }

    private static ProtoWriter ValueInfo(string valueName, object[] dims)
    {
        var shape = new ProtoWriter();
        foreach (var d in dims)
            shape.Message(1, d is string s ? new ProtoWriter().String(2, s) : new ProtoWriter().Int(1, Convert.ToInt64(d)));
        var tensorType = new ProtoWriter().Int(1, ElemFloat).Message(2, shape);
        return new ProtoWriter().String(1, valueName).Message(2, new ProtoWriter().Message(1, tensorType));
    }

    /// <summary>The serialized ModelProto.</summary>
    public byte[] ToModel(string producer, string docString, IReadOnlyDictionary<string, string> metadata)
    {
        var graph = new ProtoWriter();
        foreach (var n in _nodes) graph.Message(1, n);
        graph.String(2, name);
        foreach (var i in _initializers) graph.Message(5, i);
        foreach (var i in _inputs) graph.Message(11, i);
        foreach (var o in _outputs) graph.Message(12, o);
        var model = new ProtoWriter()
            .Int(1, 8) // IR version 8
            .String(2, producer)
            .String(3, "1")
            .String(6, docString)
            .Message(7, graph)
            .Message(8, new ProtoWriter().String(1, "").Int(2, Opset));
        foreach (var (k, v) in metadata) model.Message(14, new ProtoWriter().String(1, k).String(2, v));
        return model.ToArray();
    }
}
