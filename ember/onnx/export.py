"""``ember.onnx.export``: trace a model once (twice with ``dynamic_axes``) and write ONNX."""

from __future__ import annotations

import io
import os

import numpy as np

from ember.autograd.grad_mode import no_grad
from ember.dtypes import is_floating_np
from ember.onnx.errors import OnnxExporterError, UnsupportedOperatorError
from ember.onnx.graph import GraphBuilder
from ember.onnx.registry import lookup
from ember.onnx.trace import Tracer, _flatten
from ember.tensor import Tensor

_LEAF_MODULES = ("RNN", "LSTM", "GRU")
_exporting = False


def is_in_onnx_export() -> bool:
    """True while ``export`` is tracing a model."""
    return _exporting


def _onnx():
    try:
        import onnx
    except ImportError as exc:
        raise ImportError('ember.onnx.export needs the onnx package: pip install "ember[onnx]"') from exc
    return onnx


def _leaf_types():
    from ember import nn

    return tuple(getattr(nn, name) for name in _LEAF_MODULES)


def _split_args(args):
    if isinstance(args, Tensor):
        return (args,), {}
    args = tuple(args)
    if args and isinstance(args[-1], dict):
        return args[:-1], dict(args[-1])
    return args, {}


def _trace(model, args, kwargs):
    global _exporting
    tracer = Tracer(model, _leaf_types())
    _exporting = True
    try:
        with no_grad(), tracer:
            output = model(*args, **kwargs)
    finally:
        _exporting = False
    return tracer, output


def _vary(t, axes):
    """The input for the second trace: one more row along each dynamic axis, floats jittered."""
    from ember.tensor import make

    data = t._data
    for axis in sorted(axes):
        data = np.take(data, list(range(data.shape[axis])) + [0], axis=axis)
    if is_floating_np(data.dtype):
        data = data + np.asarray(0.01, data.dtype) * np.sign(data + 0.5)
    return make(np.ascontiguousarray(data))


def _normalise_dynamic(dynamic_axes, names):
    result = {}
    for name, axes in (dynamic_axes or {}).items():
        if name not in names:
            raise OnnxExporterError(
                f"ember.onnx.export: dynamic_axes names {name!r}, which is not an input or output "
                f"name; the names are {names}"
            )
        if isinstance(axes, dict):
            result[name] = {int(k): str(v) for k, v in axes.items()}
        else:
            result[name] = {int(a): f"{name}_dynamic_axes_{i + 1}" for i, a in enumerate(axes)}
    return result


def export(
    model,
    args,
    f,
    *,
    input_names=None,
    output_names=None,
    dynamic_axes=None,
    opset_version: int = 17,
    do_constant_folding: bool = True,
    export_params: bool = True,
    verbose: bool = False,
    **unsupported,
) -> None:
    """Export ``model`` run on ``args`` to the ONNX file ``f`` (a path or a binary file object).

    The model runs once in eval mode under a tracer that records ember's primitives; each is
    mapped to ONNX operators, parameters and buffers become initializers under their
    ``state_dict`` names, and the graph is checked (``onnx.checker`` and shape inference)
    before anything is written. ``dynamic_axes`` (``{"input": {0: "batch"}}``) make those
    dimensions symbolic: the model is traced a second time at another size to tell which sizes
    follow the input. The file is written atomically.
    """
    if unsupported:
        raise TypeError(f"ember.onnx.export: unsupported arguments {sorted(unsupported)}")
    if not 14 <= opset_version <= 21:
        raise ValueError(
            f"ember.onnx.export: opset_version {opset_version} is not supported; use 14 to 21 "
            "(17, the default, runs everywhere ONNX Runtime does)"
        )
    onnx = _onnx()
    args, kwargs = _split_args(args)
    inputs = list(args) + list(kwargs.values())
    tensor_inputs = [t for t in inputs if isinstance(t, Tensor)]
    input_names = list(input_names or [f"input_{i}" if i else "input" for i in range(len(tensor_inputs))])
    if len(input_names) < len(tensor_inputs):
        input_names += [f"input_{i}" for i in range(len(input_names), len(tensor_inputs))]
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        tracer, output = _trace(model, args, kwargs)
        outputs = list(_flatten(output))
        output_names = list(
            output_names
            or (["output"] if len(outputs) == 1 else [f"output_{i}" for i in range(len(outputs))])
        )
        if len(output_names) < len(outputs):
            output_names += [f"output_{i}" for i in range(len(output_names), len(outputs))]
        dynamic = _normalise_dynamic(dynamic_axes, input_names + output_names)
        positions = iter(input_names)
        alt_args = tuple(
            _vary(a, dynamic.get(next(positions), {})) if isinstance(a, Tensor) else a for a in args
        )
        alt_kwargs = {
            k: _vary(v, dynamic.get(next(positions), {})) if isinstance(v, Tensor) else v
            for k, v in kwargs.items()
        }
        alt_inputs = [t for t in list(alt_args) + list(alt_kwargs.values()) if isinstance(t, Tensor)]
        alt_tracer, alt_output = _trace(model, alt_args, alt_kwargs)
        _pair_steps(tracer, alt_tracer)
        graph = _build(
            onnx,
            model,
            tracer,
            tensor_inputs,
            alt_inputs,
            input_names,
            outputs,
            list(_flatten(alt_output)),
            output_names,
            dynamic,
            opset_version,
            do_constant_folding,
            export_params,
        )
    finally:
        if hasattr(model, "train"):
            model.train(was_training)
    if verbose:
        print(onnx.helper.printable_graph(graph.graph))
    _write(onnx, graph, f)


def _pair_steps(tracer, alt_tracer) -> None:
    steps, alts = tracer.steps, alt_tracer.steps
    for _i, (a, b) in enumerate(zip(steps, alts)):
        if a.op != b.op:
            raise UnsupportedOperatorError(
                f"ember.onnx.export: the model ran {a.op} (in {a.where}) for one input and {b.op} "
                f"(in {b.where}) for another: its forward has data-dependent control flow "
                "(an if or loop on tensor values), which tracing cannot capture"
            )
        a.alt = b
    if len(steps) != len(alts):
        where = (steps[len(alts)] if len(steps) > len(alts) else alts[len(steps)]).where
        raise UnsupportedOperatorError(
            f"ember.onnx.export: the model ran a different number of ops for two inputs (near "
            f"{where}): its forward has data-dependent control flow, which tracing cannot capture"
        )


def _build(
    onnx,
    model,
    tracer,
    inputs,
    alt_inputs,
    input_names,
    outputs,
    alt_outputs,
    output_names,
    dynamic,
    opset,
    fold,
    export_params,
):
    g = GraphBuilder(onnx, fold)
    g.opset = opset
    for t, alt, name in zip(inputs, alt_inputs, input_names):
        g.add_input(t, name, alt._data)
    params = []
    if hasattr(model, "state_dict"):
        for name, t in model.state_dict(keep_vars=True).items():
            g.add_parameter(t, name, as_input=not export_params)
            if not export_params:
                params.append((name, t))
    for step in tracer.steps:
        _emit(g, step)
    g.step = None
    output_values = []
    for t, alt, name in zip(outputs, alt_outputs, output_names):
        g.nodes.append(onnx.helper.make_node("Identity", [g.name_of(t, alt)], [name], name=f"/output/{name}"))
        axes = dict(dynamic.get(name, {}))
        for d, (size, alt_size) in enumerate(zip(t._data.shape, alt._data.shape)):
            if size != alt_size:
                axes.setdefault(d, f"{name}_dynamic_axes_{d + 1}")
        output_values.append(_value_info(onnx, name, t._data, axes))
    graph_inputs = [
        _value_info(onnx, name, t._data, dynamic.get(name, {})) for t, name in zip(inputs, input_names)
    ]
    graph_inputs += [_value_info(onnx, name, t._data, {}) for name, t in params]
    graph = onnx.helper.make_graph(
        g.nodes, type(model).__name__, graph_inputs, output_values, initializer=g.initializers
    )
    model_proto = onnx.helper.make_model(
        graph, producer_name="ember", opset_imports=[onnx.helper.make_opsetid("", opset)]
    )
    model_proto.ir_version = min(model_proto.ir_version, 9)
    try:
        onnx.checker.check_model(model_proto, full_check=True)
        model_proto = onnx.shape_inference.infer_shapes(model_proto, check_type=True, strict_mode=True)
    except Exception as exc:  # onnx raises its own ValidationError / InferenceError
        raise OnnxExporterError(f"ember.onnx.export: the exported graph failed ONNX's checks: {exc}") from exc
    return model_proto


def _emit(g, step) -> None:
    g.step = step
    if step.kind == "read":
        if g.reads_graph_values(step.args):
            raise g.error(
                "the model's forward reads a tensor's value into Python (bool() in an if, float(), "
                "int(), .item() or .tolist()); that is data-dependent control flow or arithmetic, "
                "which tracing cannot capture. Keep the computation in tensor ops (torch.where, "
                "masks) instead"
            )
        return
    if step.kind == "inplace":
        target, result = step.args
        g.bind(target, g.name_of(result, step.alt.args[1] if step.alt is not None else None))
        return
    if step.kind != "module" and g.fold_constants and not g.reads_graph_values(step.args):
        g.fold(step)
        return
    fn = lookup(step.op)
    if fn is None:
        raise g.error(f"the op {step.op} has no ONNX mapping; export supports the ops listed in docs/onnx.md")
    names = fn(g)
    names = names if isinstance(names, (tuple, list)) else (names,)
    for out, name in zip(step.outputs, names):
        if isinstance(out, Tensor):
            g.bind(out, name)


def _value_info(onnx, name, array, dynamic: dict):
    shape = [dynamic.get(d, size) for d, size in enumerate(array.shape)]
    elem = onnx.helper.np_dtype_to_tensor_dtype(array.dtype)
    return onnx.helper.make_tensor_value_info(name, elem, shape)


def _write(onnx, model_proto, f) -> None:
    data = model_proto.SerializeToString()
    if isinstance(f, (str, os.PathLike)):
        from ember.serialization.atomic import atomic_write

        with atomic_write(f) as out:
            out.write(data)
    elif isinstance(f, io.IOBase) or hasattr(f, "write"):
        f.write(data)
    else:
        raise TypeError(
            f"ember.onnx.export: f must be a path or a binary file object, got {type(f).__name__}"
        )
