"""The fields of a .tflite flatbuffer as patchable *sites*: where each value the reader uses lives in the
file (tensor shapes, types, buffer indices, operator inputs and outputs, quantisation, opcode indices,
subgraph inputs and outputs, vector lengths, vtable entries), so a mutator can change one field in
place and keep the rest of the model intact — structure-aware, as flatbuffer fuzzers in TFLite and
TFLM do, rather than flipping random bytes.

Slots are the schema's field ids (tensorflow/lite/schema/schema.fbs): vtable offset = 4 + 2 * id.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import tflite

# (table, field) -> field id in schema.fbs
TENSOR_SHAPE, TENSOR_TYPE, TENSOR_BUFFER, TENSOR_NAME, TENSOR_QUANT = 0, 1, 2, 3, 4
QUANT_SCALE, QUANT_ZERO_POINT, QUANT_DIMENSION = 2, 3, 6
OP_OPCODE_INDEX, OP_INPUTS, OP_OUTPUTS, OP_OPTIONS_TYPE, OP_OPTIONS = 0, 1, 2, 3, 4
CODE_DEPRECATED, CODE_VERSION, CODE_BUILTIN = 0, 2, 3
SUB_TENSORS, SUB_INPUTS, SUB_OUTPUTS, SUB_OPERATORS = 0, 1, 2, 3
MODEL_CODES, MODEL_SUBGRAPHS, MODEL_BUFFERS = 1, 2, 4
BUFFER_DATA, BUFFER_OFFSET, BUFFER_SIZE = 0, 1, 2


@dataclass(frozen=True)
class Site:
    """One value in the file: ``fmt`` is its struct format (little-endian), ``kind`` what it means to
    the mutator: "index", "dim", "count" (a vector length), "type", "scale", "zero_point", "enum",
    "vtable" (a field's vtable entry: 0 makes the field absent) or "byte" (options, weights)."""

    label: str
    kind: str
    offset: int
    fmt: str

    def read(self, buf: bytes | bytearray) -> Any:
        return struct.unpack_from(self.fmt, buf, self.offset)[0]

    def write(self, buf: bytearray, value: Any) -> None:
        struct.pack_into(self.fmt, buf, self.offset, value)


def _slot(field: int) -> int:
    return 4 + 2 * field


class _Sites:
    def __init__(self) -> None:
        self.sites: list[Site] = []

    def scalar(self, obj: Any, field: int, fmt: str, label: str, kind: str) -> None:
        o = obj._tab.Offset(_slot(field))
        if o:
            self.sites.append(Site(label, kind, obj._tab.Pos + o, fmt))

    def vector(self, obj: Any, field: int, fmt: str, label: str, kind: str, elements: bool = True) -> None:
        """The vector's length prefix (a "count" site) and, if ``elements``, each element."""
        o = obj._tab.Offset(_slot(field))
        if not o:
            return
        start, length = obj._tab.Vector(o), obj._tab.VectorLen(o)
        self.sites.append(Site(f"{label} length", "count", start - 4, "<I"))
        if elements:
            size = struct.calcsize(fmt)
            for k in range(length):
                self.sites.append(Site(f"{label}[{k}]", kind, start + k * size, fmt))

    def vtable(self, obj: Any, field: int, label: str) -> None:
        tab = obj._tab
        vtable = tab.Pos - struct.unpack_from("<i", tab.Bytes, tab.Pos)[0]
        if struct.unpack_from("<H", tab.Bytes, vtable)[0] > _slot(field):
            self.sites.append(Site(f"{label} (vtable entry)", "vtable", vtable + _slot(field), "<H"))

    def options(self, op: Any, label: str) -> None:
        """The operator's options table, field by field (its low byte: the tables mix int8 and int32
        fields, and the low byte of either is a valid patch on a little-endian file)."""
        table = op.BuiltinOptions()
        if table is None:
            return
        vtable = table.Pos - struct.unpack_from("<i", table.Bytes, table.Pos)[0]
        vsize = struct.unpack_from("<H", table.Bytes, vtable)[0]
        for field in range((vsize - 4) // 2):
            o = struct.unpack_from("<H", table.Bytes, vtable + _slot(field))[0]
            if o:
                self.sites.append(Site(f"{label} options field {field}", "byte", table.Pos + o, "<b"))


@dataclass(frozen=True)
class Region:
    """A buffer's data bytes (weights, biases): where light byte fuzzing goes."""

    label: str
    offset: int
    length: int


def model_sites(buf: bytes) -> tuple[list[Site], list[Region]]:
    """(structure sites, constant-data regions) of a valid model."""
    model = tflite.Model.GetRootAsModel(buf, 0)
    s = _Sites()
    s.vector(model, MODEL_CODES, "<I", "operator_codes", "", elements=False)
    s.vector(model, MODEL_SUBGRAPHS, "<I", "subgraphs", "", elements=False)
    s.vector(model, MODEL_BUFFERS, "<I", "buffers", "", elements=False)
    for k in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(k)
        s.scalar(code, CODE_BUILTIN, "<i", f"operator_codes[{k}].builtin_code", "enum")
        s.scalar(code, CODE_DEPRECATED, "<b", f"operator_codes[{k}].deprecated_builtin_code", "enum")
        s.scalar(code, CODE_VERSION, "<i", f"operator_codes[{k}].version", "enum")
    weights: list[Region] = []
    for k in range(model.BuffersLength()):
        buffer = model.Buffers(k)
        s.vector(buffer, BUFFER_DATA, "<B", f"buffers[{k}].data", "", elements=False)
        o = buffer._tab.Offset(_slot(BUFFER_DATA))
        if o and buffer.DataLength():
            weights.append(Region(f"buffers[{k}].data", buffer._tab.Vector(o), buffer.DataLength()))
    sub = model.Subgraphs(0)
    s.vector(sub, SUB_TENSORS, "<I", "tensors", "", elements=False)
    s.vector(sub, SUB_OPERATORS, "<I", "operators", "", elements=False)
    s.vector(sub, SUB_INPUTS, "<i", "subgraph inputs", "index")
    s.vector(sub, SUB_OUTPUTS, "<i", "subgraph outputs", "index")
    for i in range(sub.TensorsLength()):
        t = sub.Tensors(i)
        label = f"tensors[{i}]"
        s.vector(t, TENSOR_SHAPE, "<i", f"{label}.shape", "dim")
        s.scalar(t, TENSOR_TYPE, "<b", f"{label}.type", "type")
        s.scalar(t, TENSOR_BUFFER, "<I", f"{label}.buffer", "index")
        s.vector(t, TENSOR_NAME, "<B", f"{label}.name", "", elements=False)
        for field, what in ((TENSOR_NAME, "name"), (TENSOR_QUANT, "quantization"), (TENSOR_SHAPE, "shape"),
                            (TENSOR_BUFFER, "buffer")):
            s.vtable(t, field, f"{label}.{what}")
        q = t.Quantization()
        if q is not None:
            s.vector(q, QUANT_SCALE, "<f", f"{label}.scale", "scale")
            s.vector(q, QUANT_ZERO_POINT, "<q", f"{label}.zero_point", "zero_point")
            s.scalar(q, QUANT_DIMENSION, "<i", f"{label}.quantized_dimension", "index")
    for i in range(sub.OperatorsLength()):
        op = sub.Operators(i)
        label = f"operators[{i}]"
        s.scalar(op, OP_OPCODE_INDEX, "<I", f"{label}.opcode_index", "index")
        s.scalar(op, OP_OPTIONS_TYPE, "<B", f"{label}.builtin_options_type", "enum")
        s.vector(op, OP_INPUTS, "<i", f"{label}.inputs", "index")
        s.vector(op, OP_OUTPUTS, "<i", f"{label}.outputs", "index")
        for field, what in ((OP_INPUTS, "inputs"), (OP_OUTPUTS, "outputs"), (OP_OPTIONS, "options")):
            s.vtable(op, field, f"{label}.{what}")
        s.options(op, label)
    return s.sites, weights


def name_regions(buf: bytes) -> list[Region]:
    """Each tensor name's bytes: names go into generated C comments, so they get hostile text."""
    sub = tflite.Model.GetRootAsModel(buf, 0).Subgraphs(0)
    regions = []
    for i in range(sub.TensorsLength()):
        t = sub.Tensors(i)
        o = t._tab.Offset(_slot(TENSOR_NAME))
        if o:
            start = t._tab.Vector(o)
            regions.append(Region(f"tensors[{i}].name", start, t._tab.VectorLen(o)))
    return regions


def find_site(sites: list[Site], label: str) -> Site:
    """The site with this label (tests patch named fields: ``find_site(sites, "tensors[3].shape[1]")``)."""
    for site in sites:
        if site.label == label:
            return site
    raise KeyError(label)


def patched(buf: bytes, *changes: tuple[str, Any]) -> bytes:
    """``buf`` with the named fields set: ``patched(model, ("subgraph inputs length", 0))``."""
    sites, _ = model_sites(buf)
    out = bytearray(buf)
    for label, value in changes:
        find_site(sites, label).write(out, value)
    return bytes(out)
