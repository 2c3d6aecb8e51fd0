"""The backward engine: an iterative, deterministic walk of the graph that exists now.

1. Count, for every node reachable from the roots, how many edges lead into it.
2. Start from the roots; a node runs once every edge into it has delivered its gradient
   (its count reaches zero), so each node runs once with the full sum of its gradients.
3. Gradients flowing along an edge are summed to the input's shape here and nowhere else
   (op authors return gradients at the broadcast shape).
4. Unless ``retain_graph``, each node's saved tensors are freed once it has run.

No recursion anywhere, so a chain of 100,000 ops backpropagates; the order comes from lists
and insertion-ordered dicts only, so it is the same on every run.
"""

from __future__ import annotations

import warnings
import weakref

from ember import backend
from ember.autograd import anomaly, function
from ember.autograd.function import AccumulateGrad, Node
from ember.autograd.grad_mode import grad_enabled

__all__ = ["backward", "grad"]


def _as_tuple(x):
    if x is None:
        return ()
    if isinstance(x, (tuple, list)):
        return tuple(x)
    return (x,)


def _root_edge(t, position: int):
    if t.grad_fn is not None:
        return (t.grad_fn, t._output_nr)
    if t._requires_grad:
        return (t._grad_accumulator(), 0)
    raise RuntimeError(
        f"element {position} of tensors does not require grad and does not have a grad_fn: "
        "call .requires_grad_() on the leaf (or create it with requires_grad=True), and do not "
        "compute it under no_grad()"
    )


def _root_grads(tensors, grad_tensors, create_graph):
    from ember.autograd import function

    grads = list(_as_tuple(grad_tensors)) or [None] * len(tensors)
    if len(grads) != len(tensors):
        raise RuntimeError(
            f"backward: got {len(tensors)} tensors but {len(grads)} gradients; pass one gradient per tensor"
        )
    external = set()
    out = []
    Tensor = function._Tensor
    for i, (t, g) in enumerate(zip(tensors, grads)):
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs: tensor {i} has "
                    f"shape {list(t.shape)}; pass gradient=... (e.g. ember.ones_like(out))"
                )
            if t._data.dtype.kind == "c":
                raise RuntimeError(
                    f"grad can be implicitly created only for real scalar outputs: tensor {i} is "
                    f"{t.dtype}; take .real, .abs() or another real function of it first"
                )
            g = function._make(t._data.__class__(t._data.shape, t._data.dtype), False, None, 0, None)
            g._data.fill(1)
        else:
            if not isinstance(g, Tensor):
                g = function._make(t.xp.asarray(g, dtype=t._data.dtype), False, None, 0, None)
            if tuple(g.shape) != tuple(t.shape):
                raise RuntimeError(
                    f"backward: gradient {i} has shape {list(g.shape)} but its tensor has shape "
                    f"{list(t.shape)}; they must match"
                )
            external.add(id(g._data))
        out.append(g)
    return out, external


def backward(
    tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None, *, grad_variables=None
):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves (or of ``inputs``).

    ``grad_variables`` is PyTorch's deprecated name for ``grad_tensors`` (keyword-only here, so
    that ``inputs`` keeps its place for positional callers).
    """
    if grad_variables is not None:
        warnings.warn(
            "`grad_variables` is deprecated. Use `grad_tensors` instead.", FutureWarning, stacklevel=2
        )
        if grad_tensors is not None:
            raise RuntimeError(
                "`grad_tensors` and `grad_variables` (deprecated) arguments both "
                "passed to `backward()`. Please only use `grad_tensors`."
            )
        grad_tensors = grad_variables
    tensors = _as_tuple(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    # a root that needs no grad is the error to name first, as in PyTorch, before its shape
    edges = [_root_edge(t, i) for i, t in enumerate(tensors)]
    grads, external = _root_grads(tensors, grad_tensors, create_graph)
    targets = None
    if inputs is not None:
        inputs = _as_tuple(inputs)
        if not inputs:
            raise RuntimeError("backward: 'inputs' was given but is empty")
        targets = [_input_edge(t, i) for i, t in enumerate(inputs)]
    _Walk(edges, grads, retain_graph, create_graph, targets, inputs, external, accumulate=True).run()


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph=False,
    only_inputs=True,
    allow_unused=None,
    is_grads_batched=False,
    materialize_grads=False,
):
    """The gradients of ``outputs`` with respect to ``inputs``, returned instead of accumulated.

    >>> import ember
    >>> x = ember.tensor([3.0], requires_grad=True)
    >>> ember.autograd.grad((x * x).sum(), x)
    (tensor([6.]),)
    """
    if is_grads_batched:
        raise NotImplementedError("grad: is_grads_batched=True is not supported; loop over the batch")
    outputs, inputs = _as_tuple(outputs), _as_tuple(inputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    # a root that needs no grad is the error to name first, as in PyTorch, before its shape
    edges = [_root_edge(t, i) for i, t in enumerate(outputs)]
    grads, external = _root_grads(outputs, grad_outputs, create_graph)
    targets = [_input_edge(t, i) for i, t in enumerate(inputs)]
    walk = _Walk(edges, grads, retain_graph, create_graph, targets, inputs, external, accumulate=False)
    captured = walk.run()
    result = []
    for i, (t, g) in enumerate(zip(inputs, captured)):
        if g is None:
            if materialize_grads:
                from ember.autograd import function

                g = function._make(t.xp.zeros(t.shape, t._data.dtype), False, None, 0, None)
            elif not allow_unused:
                raise RuntimeError(
                    f"One of the differentiated Tensors (input {i}, shape {list(t.shape)}) appears "
                    "to not have been used in the graph. Set allow_unused=True if this is the "
                    "desired behavior."
                )
        result.append(g)
    return tuple(result)


def _input_edge(t, position: int):
    if not t._requires_grad:
        raise RuntimeError(
            f"input {position} (shape {list(t.shape)}) does not require grad: set requires_grad=True on it"
        )
    return (t.grad_fn, t._output_nr) if t.grad_fn is not None else (t._grad_accumulator(), 0)


def _sum_to(g, shape, node):
    if g.shape == shape:
        return g
    try:
        return g.sum_to_size(shape)
    except RuntimeError as exc:
        raise RuntimeError(
            f"{node.name()} returned a gradient of shape {list(g.shape)} for an input of shape "
            f"{list(shape)}, and it cannot be summed to that shape"
        ) from exc


class _Walk:
    """One backward pass over the graph reachable from ``edges``."""

    def __init__(self, edges, grads, retain_graph, create_graph, targets, inputs, external, accumulate):
        self.edges, self.grads = edges, grads
        self.retain_graph, self.create_graph = retain_graph, create_graph
        self.targets, self.inputs = targets, inputs
        self.accumulate = accumulate
        self.assigned = external  # ids of arrays a .grad may not alias (user-given or already used)
        self.captured = [None] * len(targets) if targets else None

    def run(self):
        token = grad_enabled.set(self.create_graph)
        try:
            self._run()
        finally:
            grad_enabled.reset(token)
        return self.captured

    def _dependencies(self):
        deps: dict[Node, int] = {}
        order: list[Node] = []
        stack = []
        for node, _ in self.edges:
            if node not in deps:
                deps[node] = 0
                stack.append(node)
                order.append(node)
        while stack:
            node = stack.pop()
            for nxt, _ in node._edges:
                if nxt is None:
                    continue
                if nxt in deps:
                    deps[nxt] += 1
                else:
                    deps[nxt] = 1
                    stack.append(nxt)
                    order.append(nxt)
        if self.targets is not None:
            deps = self._prune(deps, order)
        return deps

    def _prune(self, deps, order):
        """Keep only nodes from which some target can be reached."""
        wanted = {node for node, _ in self.targets}
        remaining = dict(deps)
        topo, ready = [], [n for n in order if remaining[n] == 0]
        while ready:
            node = ready.pop()
            topo.append(node)
            for nxt, _ in node._edges:
                if nxt is not None:
                    remaining[nxt] -= 1
                    if remaining[nxt] == 0:
                        ready.append(nxt)
        needed = set()
        for node in reversed(topo):
            if node in wanted or any(n in needed for n, _ in node._edges if n is not None):
                needed.add(node)
        pruned = {n: 0 for n in order if n in needed}
        for node in pruned:
            for nxt, _ in node._edges:
                if nxt in pruned:
                    pruned[nxt] += 1
        self.needed = needed
        return pruned

    def _run(self) -> None:
        deps = self._dependencies()
        buffers: dict[Node, list] = {}
        plain = not self.create_graph and not anomaly.enabled
        for (node, nr), g in zip(self.edges, self.grads):
            if node in deps:
                _add_to(buffers, node, nr, g, plain)
        seen = set()
        ready = []
        for node, _ in self.edges:
            if node in deps and deps[node] == 0 and node not in seen:
                seen.add(node)
                ready.append(node)
        capture = {}
        if self.targets is not None:
            for i, (node, nr) in enumerate(self.targets):
                capture.setdefault((node, nr), []).append(i)
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None) or [None]
            if node._extras is not None:
                grads = self._tensor_hooks(node, grads)
            if capture:
                self._capture(node, grads, capture)
            if type(node) is AccumulateGrad:
                if (
                    self.accumulate
                    and grads[0] is not None
                    and (self.targets is None or (node, 0) in capture)
                ):
                    self._accumulate(node, grads[0])
                continue
            outputs = self._call(node, grads)
            for (nxt, nr), g, shape in zip(node._edges, outputs, node._input_shapes):
                if nxt is None or nxt not in deps:
                    continue
                if g is not None:
                    try:  # checked here first, without a call: most grads fit already
                        fits = g._data.shape == shape
                    except AttributeError:
                        fits = False
                    if not fits:
                        g = _sum_to(g, shape, node)
                    _add_to(buffers, nxt, nr, g, plain)
                deps[nxt] -= 1
                if deps[nxt] == 0:
                    ready.append(nxt)

    def _call(self, node, grads):
        for g in grads:
            if g is not None:
                break
        else:  # no gradient reached this node
            if not self.retain_graph:
                node._release()
            return (None,) * len(node._edges)
        if node._out_meta is not None:
            grads = _materialize(node, grads)
        extras = node._extras
        if extras is not None and extras.prehooks:
            for hook in tuple(extras.prehooks.values()):
                new = hook(tuple(grads))
                if new is not None:
                    grads = list(new)
        if anomaly.enabled:
            outputs = anomaly.run_backward(node, grads)
        elif self.create_graph or node._fn.backward_arrays is None or node._released:
            outputs = node.apply(*grads)
        else:  # Node.apply's first-order case, without its frame and grad-mode lookup
            outputs = node._apply_arrays(node._fn, grads)
        if len(outputs) != len(node._edges):
            raise RuntimeError(
                f"function {node.name()} returned an incorrect number of gradients "
                f"(expected {len(node._edges)}, got {len(outputs)})"
            )
        if extras is not None and extras.hooks:
            for hook in tuple(extras.hooks.values()):
                new = hook(outputs, tuple(grads))
                if new is not None:
                    outputs = tuple(new)
        if not self.retain_graph:
            node._release()
        return outputs

    def _tensor_hooks(self, node, grads):
        extras = node._extras
        for nr, hooks in extras.tensor_prehooks.items():
            if nr < len(grads) and grads[nr] is not None:
                for hook in tuple(hooks.values()):
                    new = hook(grads[nr])
                    if new is not None:
                        grads[nr] = new
        for nr, ref in extras.retained.items():
            t = ref()
            if t is not None and nr < len(grads) and grads[nr] is not None:
                g = grads[nr]
                if not self.create_graph:
                    g = g.detach()
                t._grad = g if t._grad is None else t._grad + g
                self.assigned.add(id(g._data))
        return grads

    def _capture(self, node, grads, capture):
        for nr, g in enumerate(grads):
            for i in capture.get((node, nr), ()):
                self.captured[i] = g

    def _accumulate(self, node, g) -> None:
        t = node.variable
        if t is None:
            return
        hooks = t._hooks
        if hooks:
            for hook in tuple(hooks.values()):
                new = hook(g)
                if new is not None:
                    g = new
        if t._grad is None:
            if self.create_graph:
                t._grad = g
            else:
                data = g._data
                if id(data) in self.assigned or data.base is not None or not backend.writeable(data):
                    data = data.copy()
                self.assigned.add(id(data))
                t._grad = g if data is g._data and g.grad_fn is None else g._wrap_like(data)
        elif self.create_graph or t._grad._requires_grad:
            t._grad = t._grad + g
        else:
            t._grad._data += g._data
            t._grad._bump_version("AccumulateGrad")
        if t._hooks is not None:
            for hook in t._post_accumulate_hooks():
                hook(t)


def _add_to(buffers, node, nr, g, plain: bool) -> None:
    """Add ``g`` into ``node``'s input buffer at ``nr``; when no graph is recorded (``plain``),
    two plain tensors of one dtype and shape are summed as arrays, without an Add node."""
    buf = buffers.get(node)
    if buf is None:
        buf = buffers[node] = [None] * (nr + 1)
    elif len(buf) <= nr:
        buf.extend([None] * (nr + 1 - len(buf)))
    held = buf[nr]
    if held is None:
        buf[nr] = g
        return
    Tensor = function._Tensor
    if plain and type(held) is Tensor and type(g) is Tensor:
        a, b = held._data, g._data
        if a.dtype == b.dtype and a.shape == b.shape and a.ndim:  # 0-d + 0-d gives a NumPy scalar
            buf[nr] = function._make(a + b, False, None, 0, None)
            return
    buf[nr] = held + g


def _materialize(node, grads):
    from ember.autograd import function

    meta = node._out_meta
    if len(grads) < len(meta):
        grads = list(grads) + [None] * (len(meta) - len(grads))
    if node.__dict__.get("_materialize", True) is False:
        return grads
    out = []
    for g, m in zip(grads, meta):
        if g is None and m is not None:
            shape, dtype, _ = m
            xp = node.xp
            g = function._make(
                xp.zeros(shape, dtype.np if hasattr(dtype, "np") else dtype), False, None, 0, None
            )
        out.append(g)
    return out


def register_retained(node, nr, tensor) -> None:
    node._more().retained[nr] = weakref.ref(tensor)
