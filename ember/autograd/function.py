"""``Function``: an op's forward and backward, and the graph node it records as it runs.

Calling ``SomeFunction.apply(*args)`` runs ``forward`` and, when grad mode is on and an input
requires grad, records a node (an instance of ``SomeFunctionBackward0``) whose
``next_functions`` are the edges to the inputs' nodes. The node is also the ``ctx`` that
``forward`` and ``backward`` receive.

Two kinds of Function share this machinery:

* primitives (``ember.ops``) set ``arrays = True``: ``forward`` receives raw arrays
  (NumPy or CuPy) and returns arrays, reaching the array module through ``ctx.xp``;
* user-defined Functions, as in PyTorch, receive and return Tensors; ``forward`` runs
  without recording.

In both, ``backward`` receives and returns Tensors and is written with ember's own
differentiable ops, so ``create_graph=True`` differentiates it again.
"""

from __future__ import annotations

import contextvars
import traceback

from ember import backend
from ember.autograd import anomaly, saved
from ember.autograd.grad_mode import grad_enabled
from ember.autograd.hooks import add_hook
from ember.autograd.op_errors import describe_failure, out_of_memory
from ember.autograd.saved import keep_saved_copy, resolve_saved, unpack
from ember.backend import _XP_BY_TYPE
from ember.dtypes import is_inexact_np

__all__ = [
    "AccumulateGrad",
    "Function",
    "FunctionCtx",
    "Node",
    "keep_saved_copy",
    "once_differentiable",
    "register_tensor_type",
    "set_trace_hook",
]

_Tensor = None  # ember.Tensor, registered by ember.tensor (a higher layer) as it loads
_make = None
_trace_hook = None  # set while ember.onnx traces a model: told of every op as it runs
_input_caster = None  # set by ember.amp while an autocast region is open: casts op inputs
_caster_paused = contextvars.ContextVar("ember_caster_paused", default=False)

_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)


def set_trace_hook(hook):
    """Install ``hook`` (or None) to be told of every op as it runs; returns the previous hook.

    The hook has ``primitive(cls, args, kwargs, outputs)``, ``raw(kernel, operands, result)`` for
    the ops computed outside the graph (comparisons, logical ops), ``inplace(tensor, result)``
    for in-place writes and ``read(tensor)`` when a value leaves for Python (``item()``). ``ember.onnx`` uses it to record a model's ops.
    """
    global _trace_hook
    previous, _trace_hook = _trace_hook, hook
    return previous


def set_input_caster(caster) -> None:
    """Install ``caster(cls, args) -> args`` (or None): ``ember.amp``'s autocast, which casts a
    primitive's inputs by its op lists; the layer above registers, so autograd imports no amp."""
    global _input_caster
    _input_caster = caster


def cast_inputs(cls, args: tuple) -> tuple:
    """``args`` as the installed caster (autocast) would cast them for ``cls``; as given outside."""
    if _input_caster is None or _caster_paused.get():
        return args
    return _input_caster(cls, args)


def apply_uncast(cls, args: tuple, kwargs: dict):
    """Run primitive ``cls`` on ``args`` as given, without the input caster: for an ``apply``
    that has cast its inputs itself (``ember.ops.Float32Primitive``)."""
    if _input_caster is None:
        return _apply_primitive(cls, *args, **kwargs)
    token = _caster_paused.set(True)
    try:
        return _apply_primitive(cls, *args, **kwargs)
    finally:
        _caster_paused.reset(token)


def register_tensor_type(tensor_type, make) -> None:
    """Called once by ``ember.tensor``: the class to wrap outputs in, and its fast constructor."""
    global _Tensor, _make
    _Tensor, _make = tensor_type, make
    saved.register_tensor_type(tensor_type, make)


class _Extras:
    """Rarely used per-node state, kept out of the hot path: hooks, retained grads, traces."""

    __slots__ = ("hooks", "metadata", "prehooks", "retained", "tensor_prehooks", "trace")

    def __init__(self):
        self.hooks = {}
        self.prehooks = {}
        self.tensor_prehooks = {}
        self.retained = {}
        self.trace = None
        self.metadata = {}


class Node:
    """A node of the backward graph; also the ``ctx`` passed to ``forward``/``backward``."""

    __slots__ = (
        "__dict__",
        "__weakref__",
        "_extras",
        "_input_shapes",
        "_out_meta",
        "_released",
        "_saved",
        "_to_save",
        "needs_input_grad",
        "_edges",
        "xp",
    )
    _fn = None  # the Function class; set on each generated subclass

    def __init__(self):
        self._to_save = ()
        self._saved = None
        self._released = False
        self._extras = None
        self._out_meta = None

    # -- what forward and backward use -------------------------------------------------
    def save_for_backward(self, *tensors) -> None:
        """Keep tensors (or, in primitives, arrays) for backward; checked against in-place edits."""
        self._to_save = tensors

    @property
    def saved_arrays(self) -> tuple:
        """The saved values as arrays (None and numbers stay as they are), for ``backward_arrays``."""
        Tensor = _Tensor
        return tuple(t._data if isinstance(t, Tensor) else t for t in self.saved_tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self._released:
            raise RuntimeError(_FREED_MESSAGE)
        saved = self._saved
        if saved is None:
            return ()
        return tuple(unpack(self, entry) for entry in saved)

    def mark_dirty(self, *tensors) -> None:
        self.__dict__["_dirty"] = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        self.__dict__["_non_differentiable"] = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self.__dict__["_materialize"] = bool(value)

    # -- the graph ------------------------------------------------------------------------
    @property
    def next_functions(self) -> tuple:
        """One ``(node, output_nr)`` pair per Tensor input; ``(None, 0)`` where no gradient flows."""
        return tuple(edge for edge in self._edges if edge[1] != -1)

    def name(self) -> str:
        return type(self).__name__

    def apply(self, *grads):
        """Run the backward formula: grads of the outputs in, grads of the inputs out."""
        if self._released:
            raise RuntimeError(_FREED_MESSAGE)
        fn = self._fn
        if fn.backward_arrays is not None and not grad_enabled.get():
            return self._apply_arrays(fn, grads)
        result = fn.backward(self, *grads)
        return result if isinstance(result, tuple) else (result,)

    def _apply_arrays(self, fn, grads) -> tuple:
        """The first-order case (no graph recorded): ``backward_arrays`` on raw arrays (a NumPy
        scalar, as from 0-d operands, becomes a 0-d array)."""
        result = fn.backward_arrays(self, *[None if g is None else g._data for g in grads])
        if type(result) is not tuple:
            result = (result,)
        make, known = _make, _XP_BY_TYPE
        return tuple(
            [
                None
                if r is None
                else make(r if type(r) in known else self.xp.asarray(r), False, None, 0, None)
                for r in result
            ]
        )

    def __call__(self, *grads):
        return self.apply(*grads)

    def _more(self) -> _Extras:
        if self._extras is None:
            self._extras = _Extras()
        return self._extras

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` runs after this node's backward; may return new grad_inputs."""
        return add_hook(self._more().hooks, fn)

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` runs before this node's backward; may return new grad_outputs."""
        return add_hook(self._more().prehooks, fn)

    @property
    def metadata(self) -> dict:
        return self._more().metadata

    def _release(self) -> None:
        """Free everything this node kept for backward: saved tensors and, for primitives, any
        attribute holding an array or a tensor (metadata such as shapes stays; a user Function's
        attributes are the user's, as in PyTorch). A node that kept nothing can run again, as in
        PyTorch; one that kept something raises if backward reaches it again."""
        held = self._saved is not None
        self._saved = None
        attributes = self.__dict__
        if attributes and self._fn.arrays:
            for name in [k for k, v in attributes.items() if _holds_data(v)]:
                del attributes[name]
                held = True
        self._released = self._released or held

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"


_PLAIN = frozenset((int, float, bool, str, type(None)))  # ctx metadata that holds no data


def _holds_data(value) -> bool:
    """Whether a ctx attribute holds an array or a tensor (directly or in a tuple/list)."""
    if type(value) in _PLAIN:
        return False
    if isinstance(value, (tuple, list)):
        for v in value:  # a loop, not any(<genexpr>): shapes and dims are the usual tuples
            if type(v) not in _PLAIN and _holds_data(v):
                return True
        return False
    return (
        hasattr(value, "__array_interface__")
        or hasattr(value, "__cuda_array_interface__")
        or (_Tensor is not None and isinstance(value, _Tensor))
    )


FunctionCtx = Node


class _NoGradContext:
    """The ctx forward gets when nothing is recorded: saving is a no-op."""

    __slots__ = ("__dict__", "xp")
    needs_input_grad = ()

    def save_for_backward(self, *tensors) -> None:
        pass

    def mark_dirty(self, *tensors) -> None:
        self.__dict__["_dirty"] = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        pass

    def set_materialize_grads(self, value: bool) -> None:
        pass


class AccumulateGrad(Node):
    """The node that adds a leaf's gradient into its ``.grad``."""

    __slots__ = ("_variable",)

    def __init__(self, variable_ref):
        super().__init__()
        self._variable = variable_ref
        self._edges = ()
        self.needs_input_grad = (True,)

    @property
    def variable(self):
        return self._variable()

    def name(self) -> str:
        return "AccumulateGrad"


class _FunctionMeta(type):
    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        suffix = (
            "Backward0"
            if namespace.get("arrays", any(getattr(b, "arrays", False) for b in bases))
            else "Backward"
        )
        cls._backward_cls = type(name + suffix, (Node,), {"__slots__": (), "_fn": cls})
        if namespace.get("arrays") is True and "apply" not in namespace:
            cls.apply = classmethod(_apply_primitive)  # the base of primitives: one frame less


class Function(metaclass=_FunctionMeta):
    """Base class of differentiable ops: subclass it, write static ``forward`` and ``backward``.

    >>> import ember
    >>> class Double(ember.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         return x * 2
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         return grad * 2
    >>> x = ember.ones(3, requires_grad=True)
    >>> Double.apply(x).sum().backward()
    >>> x.grad
    tensor([2., 2., 2.])
    """

    arrays = False  # primitives set True: forward works on raw arrays
    # Optional: ``backward_arrays(ctx, *grads)`` on raw arrays, returning arrays (or None), run
    # instead of ``backward`` when no graph is recorded (the usual, first-order case). The
    # Tensor-op ``backward`` stays, for create_graph=True; tests compare the two.
    backward_arrays = None
    is_view = False  # primitives whose output shares the first input's memory
    op_name = None  # the name used in error messages; defaults to the class name

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must implement forward")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("a Function subclass must implement backward")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """PyTorch 2's split style: a subclass that overrides this writes ``forward(*args)``
        without ``ctx``, and saves what backward needs here from ``inputs`` and ``output``."""
        raise NotImplementedError("setup_context is not overridden: forward takes ctx")

    @classmethod
    def apply(cls, *args, **kwargs):
        if cls.arrays:
            return _apply_primitive(cls, *args, **kwargs)
        return _apply_user(cls, args, kwargs)


def _xp_for(raw_args, tensors_seen: bool):
    for a in raw_args:
        xp = backend._XP_BY_TYPE.get(type(a))
        if xp is not None:
            return xp
    return backend.xp_of(raw_args[0]) if tensors_seen else backend.np


def _apply_primitive(cls, *args, **kwargs):
    """Run a primitive: its forward on raw arrays, and a graph node when one must be recorded.

    The hot path of every op, so it is written for few Python operations: one pass over the
    arguments, and the no-graph case (no input needs grad, or grad mode off) kept apart from
    the recording one. It is the ``apply`` classmethod of ``Primitive`` itself (installed by
    ``_FunctionMeta``), which saves a call per op."""
    if _input_caster is not None and not _caster_paused.get():  # only inside ember.autocast
        args = _input_caster(cls, args)
    Tensor = _Tensor
    raw = list(args)
    needs = False
    first = None
    i = 0
    for a in args:
        if isinstance(a, Tensor):
            data = raw[i] = a._data
            if first is None:
                first = data
            if a._requires_grad:
                needs = True
        i += 1
    if needs and grad_enabled.get():
        return _apply_recorded(cls, args, raw, kwargs, first)
    xp = _XP_BY_TYPE.get(type(first)) or _xp_for(raw, True)
    ctx = _NoGradContext()
    ctx.xp = xp
    try:
        out = cls.forward(ctx, *raw, **kwargs)
    except (ValueError, TypeError, IndexError) as exc:
        raise describe_failure(cls, args, exc, _Tensor) from exc
    except MemoryError as exc:
        raise out_of_memory(cls, args, exc, _Tensor) from exc
    if anomaly.enabled:
        anomaly.check_forward(cls, out, xp)
    if type(out) is xp.ndarray and not cls.is_view:
        outputs = _make(out, False, None, 0, None)
    elif type(out) is tuple:
        outputs = tuple(_wrap_output(cls, ctx, o, i, False, args) for i, o in enumerate(out))
    else:
        outputs = _wrap_output(cls, ctx, out, 0, False, args)
    if _trace_hook is not None:
        _trace_hook.primitive(cls, args, kwargs, outputs)
    return outputs


def _apply_recorded(cls, args, raw, kwargs, first):
    """``_apply_primitive`` when a node is recorded: edges, input shapes and
    ``needs_input_grad`` are gathered in one pass before forward (which cannot change them)."""
    Tensor = _Tensor
    xp = _XP_BY_TYPE.get(type(first)) or _xp_for(raw, True)
    ctx = cls._backward_cls()
    count = len(args)
    edges = [_NOT_A_TENSOR] * count  # filled by index: cheaper than three appends per argument
    shapes = [None] * count
    needs_grad = [False] * count
    i = 0
    for a in args:
        if isinstance(a, Tensor):
            if a._requires_grad:
                fn = a.grad_fn
                edges[i] = (fn, a._output_nr) if fn is not None else (a._grad_accumulator(), 0)
                shapes[i] = a._data.shape
                needs_grad[i] = True
            else:
                edges[i] = _NO_GRAD_EDGE
        i += 1
    ctx.needs_input_grad = tuple(needs_grad)
    ctx.xp = xp
    try:
        out = cls.forward(ctx, *raw, **kwargs)
    except (ValueError, TypeError, IndexError) as exc:
        raise describe_failure(cls, args, exc, _Tensor) from exc
    except MemoryError as exc:
        raise out_of_memory(cls, args, exc, _Tensor) from exc
    if anomaly.enabled:
        anomaly.check_forward(cls, out, xp)
    if type(out) is tuple:
        outputs = tuple(_wrap_output(cls, ctx, o, i, True, args) for i, o in enumerate(out))
        ctx._out_meta = [(o.shape, o.dtype, o.device) for o in outputs]
    elif type(out) is xp.ndarray and not cls.is_view:
        differentiable = is_inexact_np(out.dtype)
        outputs = _make(out, differentiable, ctx if differentiable else None, 0, None)
    else:
        outputs = _wrap_output(cls, ctx, out, 0, True, args)
    ctx._edges = tuple(edges)
    ctx._input_shapes = shapes
    if anomaly.enabled:  # the stack without this frame and _apply_primitive's
        ctx._more().trace = traceback.format_stack()[:-2]
    if ctx._to_save:
        resolve_saved(ctx, args, out, outputs)
    if _trace_hook is not None:
        _trace_hook.primitive(cls, args, kwargs, outputs)
    return outputs


def _wrap_output(cls, ctx, array, index, record, args):
    if type(array) is not ctx.xp.ndarray and type(array) not in _XP_BY_TYPE:  # not a device move
        array = ctx.xp.asarray(array)
    differentiable = record and is_inexact_np(array.dtype)
    t = _make(array, differentiable, ctx if differentiable else None, index, None)
    if cls.is_view:
        view_of = args[0]
        t._vc = view_of._version_counter()
        t._base = view_of._base if view_of._base is not None else view_of
    return t


_NO_GRAD_EDGE = (None, 0)  # a Tensor input that needs no gradient
_NOT_A_TENSOR = (None, -1)  # a number or option: kept so edges line up with backward's outputs


def _connect(ctx, args, Tensor):
    edges = []
    shapes = []
    for a in args:
        if isinstance(a, Tensor) and a._requires_grad:
            fn = a.grad_fn
            edges.append((fn, a._output_nr) if fn is not None else (a._grad_accumulator(), 0))
            shapes.append(a._data.shape)
        else:
            edges.append(_NO_GRAD_EDGE if isinstance(a, Tensor) else _NOT_A_TENSOR)
            shapes.append(None)
    ctx._edges = tuple(edges)
    ctx._input_shapes = shapes
    if anomaly.enabled:
        ctx._more().trace = traceback.format_stack()[:-3]


def _apply_user(cls, args, kwargs):
    from ember.autograd.grad_mode import no_grad

    Tensor = _Tensor
    needs = any(isinstance(a, Tensor) and a._requires_grad for a in args)
    record = needs and grad_enabled.get()
    ctx = cls._backward_cls()
    ctx.xp = _xp_for([a._data for a in args if isinstance(a, Tensor)] or [0], False)
    ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
    with no_grad():
        if cls.setup_context is Function.setup_context:
            out = cls.forward(ctx, *args, **kwargs)
        else:  # forward(*args) without ctx, then setup_context(ctx, inputs, output)
            out = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, out)
    if record:  # edges first: a dirty (in-place) output is also an input whose grad_fn changes below
        _connect(ctx, args, Tensor)
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    dirty = ctx.__dict__.pop("_dirty", ())
    non_diff = ctx.__dict__.pop("_non_differentiable", ())
    results = []
    for nr, o in enumerate(outs):
        if not isinstance(o, Tensor):
            results.append(o)
            continue
        differentiable = (
            record and (o.dtype.is_floating_point or o.dtype.is_complex) and not any(o is n for n in non_diff)
        )
        if any(o is d for d in dirty):
            o._bump_version(cls.__name__)
            if differentiable:
                o._requires_grad, o.grad_fn, o._output_nr = True, ctx, nr
            results.append(o)
            continue
        if any(o is a for a in args):  # returning an input: give back an alias, not the input
            o = _make(o._data, False, None, 0, o._version_counter())
        results.append(_make(o._data, differentiable, ctx if differentiable else None, nr, o._vc))
    if record:
        ctx._out_meta = [(o.shape, o.dtype, o.device) if isinstance(o, Tensor) else None for o in outs]
        resolve_saved(ctx, args, tuple(r._data if isinstance(r, Tensor) else r for r in results), results)
    return results[0] if single else tuple(results)


def once_differentiable(fn):
    """Mark a custom ``backward`` as not differentiable itself: it runs under ``no_grad`` (so
    it may use non-differentiable code), and its results carry no graph.

    >>> import ember
    >>> class Square(ember.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     @once_differentiable
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_tensors
    ...         return grad * 2 * x
    >>> x = ember.tensor([3.0], requires_grad=True)
    >>> Square.apply(x).backward()
    >>> x.grad
    tensor([6.])
    """
    import functools

    from ember.autograd.grad_mode import no_grad

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            return fn(ctx, *args)

    return wrapper
