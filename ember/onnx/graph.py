"""Building the ONNX graph from a trace: names, initializers, nodes, and symbolic sizes.

``GraphBuilder`` walks the recorded steps in order. Each step's op is turned into ONNX nodes by
the function registered for it (``ember.onnx.registry``), which asks the builder for its
inputs' names and traced values and adds nodes. A step whose inputs are all constants
(parameters, buffers, tensors made inside ``forward``) is folded: its traced outputs become
initializers when something uses them.

Sizes that depend on the input's size (a reshape to ``(batch, -1)``) are found by comparing
the trace with a second one made at another batch size: a size that differs between the two is
written as ``0``/``-1`` in a Reshape or computed from the input's ``Shape``.
"""

from __future__ import annotations

import numpy as np

from ember.dtypes import is_inexact_np
from ember.onnx.errors import UnsupportedOperatorError
from ember.tensor import Tensor

INT64_MAX = 2**63 - 1


class GraphBuilder:
    def __init__(self, onnx, fold_constants: bool):
        self.onnx = onnx
        self.helper = onnx.helper
        self.nodes = []
        self.initializers = []
        self.fold_constants = fold_constants
        self._names: dict[int, str] = {}  # id(array) -> value name
        self._constants: dict[int, tuple] = {}  # id(array) -> (array, alt array): folded values
        self._named_constants: dict[int, str] = {}  # id(array) -> preferred initializer name
        self._inputs: list[tuple[str, object, object]] = []  # (name, array, alt array)
        self._used: set[str] = set()
        self._shape_of: dict[str, str] = {}
        self._counter = 0
        self.step = None

    # -- names ----------------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        self._counter += 1
        name = f"/{hint}_{self._counter}"
        self._used.add(name)
        return name

    def add_input(self, tensor: Tensor, name: str, alt) -> None:
        self._names[id(tensor._data)] = name
        self._inputs.append((name, tensor._data, alt))
        self._used.add(name)

    def add_parameter(self, tensor: Tensor, name: str, as_input: bool, alt=None) -> None:
        if as_input:
            self.add_input(tensor, name, tensor._data if alt is None else alt)
        else:
            self._named_constants[id(tensor._data)] = name

    def bind(self, tensor: Tensor, name: str) -> None:
        self._names[id(tensor._data)] = name

    def reads_graph_values(self, args) -> bool:
        """Whether any tensor or array in ``args`` (index keys included) is computed in the graph."""
        for a in args:
            if isinstance(a, Tensor):
                a = a._data
            if isinstance(a, (tuple, list)):
                if self.reads_graph_values(a):
                    return True
            elif id(a) in self._names and hasattr(a, "shape"):
                return True
        return False

    def fold(self, step) -> None:
        """Keep a step's traced outputs as constants instead of emitting its nodes."""
        alts = step.alt.outputs if step.alt is not None else (None,) * len(step.outputs)
        for out, alt in zip(step.outputs, alts):
            if isinstance(out, Tensor):
                alt_data = alt._data if isinstance(alt, Tensor) else None
                self._constants[id(out._data)] = (out._data, alt_data)

    # -- values ---------------------------------------------------------------------------
    def name_of(self, tensor: Tensor, alt: Tensor | None = None) -> str:
        """The value name of a traced tensor; a constant made outside the trace becomes an
        initializer (and must not depend on the input: the second trace checks that)."""
        return self.name_of_array(tensor._data, alt._data if alt is not None else None)

    def name_of_array(self, array, alt_array=None) -> str:
        key = id(array)
        name = self._names.get(key)
        if name is not None:
            return name
        array, alt_array = self._constants.get(key, (array, alt_array))
        if alt_array is not None:
            self._check_constant(array, alt_array)
        name = self._named_constants.get(key)
        if name is None or name in self._used:
            name = self.fresh("Constant")
        self._used.add(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array, order="C"), name))
        self._names[key] = name
        return name

    def _check_constant(self, array, alt_array) -> None:
        if array.shape != alt_array.shape:
            raise self.error(
                f"a constant of shape {list(array.shape)} made inside forward changes to shape "
                f"{list(alt_array.shape)} when the input's size changes; it cannot be stored in "
                "the file. Build it from the input with tensor ops, or export without dynamic_axes"
            )
        if is_inexact_np(array.dtype):
            same = np.allclose(array, alt_array, equal_nan=True)
        else:
            same = np.array_equal(array, alt_array)
        if not same:
            raise self.error(
                "a value computed outside ember's ops (through .numpy(), .item() or Python "
                "arithmetic on tensor values) depends on the input, so tracing cannot capture it; "
                "keep the computation in tensor ops"
            )

    def arg(self, i: int) -> str:
        """The name of the step's argument ``i``: a tensor, or a number made a constant."""
        step = self.step
        value = step.args[i]
        if isinstance(value, Tensor):
            alt = step.alt.args[i] if step.alt is not None else None
            return self.name_of(value, alt if isinstance(alt, Tensor) else None)
        return self.const(np.asarray(value, dtype=self.dtype_for_scalar(value)))

    def dtype_for_scalar(self, value):
        """A number operand takes the result's dtype, or its tensor operand's for comparisons."""
        out = self.step.outputs[0]._data.dtype if self.step.outputs else None
        if out is not None and out != np.bool_:
            return out
        for a in self.step.args:
            if isinstance(a, Tensor) and a._data.dtype != np.bool_:
                return a._data.dtype
        return np.asarray(value).dtype

    def traced(self, i: int):
        """The traced array of the step's tensor argument ``i``."""
        return self.step.args[i]._data

    def output(self, i: int = 0):
        return self.step.outputs[i]._data

    def alt_output(self, i: int = 0):
        alt = self.step.alt
        return None if alt is None else alt.outputs[i]._data

    def alt_arg(self, i: int):
        alt = self.step.alt
        return None if alt is None else alt.args[i]

    # -- nodes and constants --------------------------------------------------------------
    def op(self, op_type: str, *inputs: str, outputs: int = 1, **attrs):
        names = [self.fresh(op_type) for _ in range(outputs)]
        self.nodes.append(
            self.helper.make_node(
                op_type,
                list(inputs),
                names,
                name=names[0].replace("/", "/node_", 1),
                **{k: v for k, v in attrs.items() if v is not None},
            )
        )
        return names[0] if outputs == 1 else names

    def const(self, array) -> str:
        name = self.fresh("Constant")
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array, order="C"), name))
        return name

    def i64(self, values) -> str:
        return self.const(np.asarray(list(values), dtype=np.int64))

    def scalar(self, value, dtype) -> str:
        return self.const(np.asarray(value, dtype=dtype))

    def cast_like(self, name: str, dtype) -> str:
        return self.op("Cast", name, to=self.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))

    def error(self, why: str) -> UnsupportedOperatorError:
        step = self.step
        op = step.op if step is not None else "export"
        where = step.where if step is not None else "the model"
        return UnsupportedOperatorError(f"ember.onnx.export: {op} (called in {where}): {why}")

    # -- sizes that follow the input -----------------------------------------------------
    def sizes(self, values, alt_values) -> str:
        """A 1-D int64 value holding ``values``; entries that differ in the second trace are
        read from a graph input's shape (the dimension that has those two sizes)."""
        if alt_values is None or list(values) == list(alt_values):
            return self.i64(values)
        pieces = []
        for v, a in zip(values, alt_values):
            pieces.append(self.i64([v]) if v == a else self.input_dim(v, a))
        return self.op("Concat", *pieces, axis=0)

    def input_dim(self, size: int, alt_size: int) -> str:
        for name, array, alt in self._inputs:
            if alt is None:
                continue
            for d in range(array.ndim):
                if array.shape[d] == size and alt.shape[d] == alt_size:
                    shape = self._shape_of.get(name) or self.op("Shape", name)
                    self._shape_of[name] = shape
                    return self.op("Gather", shape, self.i64([d]), axis=0)
        raise self.error(
            f"a size that is {size} here and {alt_size} at another batch size is not a dimension "
            "of an input, so it cannot follow dynamic_axes; export without dynamic_axes"
        )
