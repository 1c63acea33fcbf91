"""Models: resolving ``--model`` to a .tflite file and reading it into a typed graph."""

from tinyflash.model.graph import Graph, Operator, Quantization, Tensor
from tinyflash.model.reader import read_graph
from tinyflash.model.spec import ModelSpec, resolve_model

__all__ = ["Graph", "ModelSpec", "Operator", "Quantization", "Tensor", "read_graph", "resolve_model"]
