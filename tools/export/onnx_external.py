"""Move an ONNX model's weights into ONE external-data file beside the graph, streaming.

torch.onnx.export (PyTorch 1.13) writes a model over 2 GB as one file per tensor (over a thousand for the DP-IQA
teacher), and a smaller one with its weights inside the graph. A model catalog carries and hashes files, so the
teacher ships as NAME.onnx (the graph, a few MB) plus NAME.onnx.data (every initializer, each at an offset aligned
to 4 KiB, which lets ONNX Runtime map it). The copy goes tensor by tensor in 16 MiB pieces: no whole model in memory.
Needs Debian's python3-onnx (the protobuf classes; its own converter would load all tensors at once).
"""
import os

ALIGN = 4096
INLINE_BELOW = 1024  # bytes: smaller tensors (shapes, scalars) stay in the graph
PIECE = 16 << 20


def _tensors(graph):
    """(tensor, is_initializer) for every initializer and every tensor-valued node attribute (torch.onnx writes
    folded constants, e.g. the teacher's cross-attention K/V, as Constant nodes, external ones in files of their own)."""
    for t in graph.initializer:
        yield t, True
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t, False
            for t in attr.tensors:
                yield t, False
            if attr.HasField("g"):
                yield from _tensors(attr.g)
            for g in attr.graphs:
                yield from _tensors(g)


def gather(onnx_path, data_name):
    """Rewrite onnx_path so that every initializer of INLINE_BELOW bytes or more, and every tensor that was already
    external (initializer or Constant attribute), lives in data_name (same folder); the per-tensor external files
    it used are removed. Returns (tensors moved, bytes of data)."""
    import onnx
    from onnx import TensorProto

    folder = os.path.dirname(os.path.abspath(onnx_path))
    data_path = os.path.join(folder, data_name)
    model = onnx.load(onnx_path, load_external_data=False)
    sources, moved = set(), 0
    with open(data_path + ".partial", "wb") as out:
        for t, initializer in _tensors(model.graph):
            if t.data_location == TensorProto.EXTERNAL:
                info = {e.key: e.value for e in t.external_data}
                source = os.path.join(folder, info["location"])
                offset = int(info.get("offset", 0))
                length = int(info["length"]) if "length" in info else os.path.getsize(source) - offset
                out.write(b"\0" * (-out.tell() % ALIGN))
                position = out.tell()
                with open(source, "rb") as f:
                    f.seek(offset)
                    left = length
                    while left:
                        piece = f.read(min(PIECE, left))
                        if not piece:
                            raise IOError(f"{source} ends before the {length} bytes of {t.name}")
                        out.write(piece)
                        left -= len(piece)
                sources.add(source)
            elif initializer and t.HasField("raw_data") and len(t.raw_data) >= INLINE_BELOW:
                out.write(b"\0" * (-out.tell() % ALIGN))
                position, length = out.tell(), len(t.raw_data)
                out.write(t.raw_data)
                t.ClearField("raw_data")
            else:
                continue
            del t.external_data[:]
            t.data_location = TensorProto.EXTERNAL
            for key, value in (("location", data_name), ("offset", str(position)), ("length", str(length))):
                entry = t.external_data.add()
                entry.key, entry.value = key, value
            moved += 1
        size = out.tell()
    os.replace(data_path + ".partial", data_path)
    with open(onnx_path + ".partial", "wb") as f:
        f.write(model.SerializeToString())
    os.replace(onnx_path + ".partial", onnx_path)
    for source in sources - {data_path}:
        os.remove(source)
    return moved, size
