"""A fused GRU layer: the whole time loop of one direction as one primitive (like ``LSTMLayer``).

Per step the composite records about fifteen nodes (the recurrent matmul and bias, three chunks,
two sigmoids, a tanh, the products); here the loop runs on raw arrays, and backward is one
reverse loop whose weight and bias gradients are single reductions over all steps. On CUDA each
step's gate arithmetic is one fused kernel (``backend/fused/rnn.py``). ``tests/nn/test_rnn.py``
checks it against the composite (values, gradients, gradgradcheck).

When backward itself is recorded (``create_graph=True``) the gradient is rebuilt from ember ops on
the saved inputs instead, so higher-order gradients still work.
"""

from __future__ import annotations

from ember.backend import fused, xp_of
from ember.ops import Float32Primitive, movement
from ember.ops.rnn import _sigmoid


class GRULayer(Float32Primitive):
    """One direction of a GRU layer (gate order r, z, n) over a uniform batch.

    ``gates_x`` (T, B, 3H) is the input projection with ``b_ih`` added; ``h0`` is (B, H);
    ``w_hh`` (3H, H); ``b_hh`` (3H) or None (its n part sits inside ``r * (...)``, so it cannot
    be folded into ``gates_x``). Returns ``(output (T, B, H), h_n)``.
    """

    op_name = "gru"

    @staticmethod
    def forward(ctx, gates_x, h0, w_hh, b_hh, reverse):
        xp = ctx.xp
        steps, batch, three_h = gates_x.shape
        hidden = three_h // 3
        if w_hh.shape != (three_h, hidden) or h0.shape != (batch, hidden):
            raise ValueError(
                f"expected w_hh ({three_h}, {hidden}) and h0 ({batch}, {hidden}) for gates of shape "
                f"{list(gates_x.shape)}, got w_hh {list(w_hh.shape)}, h0 {list(h0.shape)}"
            )
        acts = xp.empty((steps, batch, three_h), gates_x.dtype)  # r, z, n
        gates_h = xp.empty_like(acts)  # h W_hh^T + b_hh: backward needs its n part
        out = xp.empty((steps, batch, hidden), gates_x.dtype)
        step = fused.kernel(xp, "rnn.gru_gates") or _gates
        w_t, h = w_hh.T, h0
        for t in range(steps - 1, -1, -1) if reverse else range(steps):
            xp.matmul(h, w_t, out=gates_h[t])
            if b_hh is not None:
                gates_h[t] += b_hh
            h = step(gates_x[t], gates_h[t], h, acts[t], out[t])
        ctx.reverse = reverse
        ctx.save_for_backward(gates_x, h0, w_hh, b_hh, acts, gates_h, out)
        return out, h.copy()

    @staticmethod
    def backward(ctx, grad_out, grad_h):
        """create_graph: the step-by-step recurrence in Tensor ops."""
        return _recorded_backward(ctx, grad_out, grad_h)

    @staticmethod
    def backward_arrays(ctx, grad_out, grad_h):
        gates_x, h0, w_hh, b_hh, acts, gates_h, out = ctx.saved_arrays
        xp = ctx.xp
        h_prev = xp.empty_like(out)
        if ctx.reverse:
            h_prev[:-1], h_prev[-1] = out[1:], h0
        else:
            h_prev[1:], h_prev[0] = out[:-1], h0
        step = fused.kernel(xp, "rnn.gru_gates_backward")
        if step is None:
            dgates_x, dgates_h, dh = _reverse_loop(ctx, grad_out, grad_h, h_prev)
        else:
            dgates_x, dgates_h, dh = _fused_reverse_loop(ctx, step, grad_out, grad_h, h_prev)
        need = ctx.needs_input_grad
        hidden = h0.shape[-1]
        grad_w = dgates_h.reshape(-1, 3 * hidden).T @ h_prev.reshape(-1, hidden) if need[2] else None
        grad_b = dgates_h.sum((0, 1)) if b_hh is not None and need[3] else None
        return (dgates_x if need[0] else None, dh if need[1] else None, grad_w, grad_b, None)


def _gates(gates_x, gates_h, h_prev, acts, h):
    """The CPU step, in place (like ``fused.rnn.gru_gates``, with fewer temporaries)."""
    xp = xp_of(acts)
    hidden = h_prev.shape[-1]
    two = 2 * hidden
    rz = acts[:, :two]
    xp.add(gates_x[:, :two], gates_h[:, :two], out=rz)
    _sigmoid(xp, rz, rz)
    n = acts[:, two:]
    xp.multiply(acts[:, :hidden], gates_h[:, two:], out=n)
    n += gates_x[:, two:]
    xp.tanh(n, out=n)
    xp.subtract(h_prev, n, out=h)
    h *= acts[:, hidden:two]
    h += n
    return h


def _reverse_loop(ctx, grad_out, grad_h, h_prev):
    """Backpropagation through time on the CPU: every step's local derivatives first, in a few
    large calls, so the loop is a multiply and a matmul per step."""
    _, _, w_hh, _, acts, gates_h, _ = ctx.saved_arrays
    xp = ctx.xp
    steps, batch, three_h = acts.shape
    hidden = three_h // 3
    r, z, n = acts[:, :, :hidden], acts[:, :, hidden : 2 * hidden], acts[:, :, 2 * hidden :]
    n_scale = (1 - z) * (1 - n * n)  # d(pre-activation of n) / dh
    scale = xp.empty((steps, batch, 3, hidden), acts.dtype)  # d(gates_h) / dh, per gate
    xp.multiply(n_scale * gates_h[:, :, 2 * hidden :], r * (1 - r), out=scale[:, :, 0])
    xp.multiply(h_prev - n, z * (1 - z), out=scale[:, :, 1])
    xp.multiply(n_scale, r, out=scale[:, :, 2])
    dgates_h = xp.empty_like(acts)
    dh_steps = xp.empty_like(h_prev)  # the total gradient of each step's h
    dh = grad_h.copy()
    recurrent = xp.empty_like(dh)
    for t in range(steps) if ctx.reverse else range(steps - 1, -1, -1):
        dh += grad_out[t]
        dh_steps[t] = dh
        d = dgates_h[t]
        xp.multiply(dh[:, None, :], scale[t], out=d.reshape(batch, 3, hidden))
        xp.matmul(d, w_hh, out=recurrent)
        dh *= z[t]
        dh += recurrent
    dgates_x = dgates_h.copy()
    xp.multiply(dh_steps, n_scale, out=dgates_x[:, :, 2 * hidden :])
    return dgates_x, dgates_h, dh


def _fused_reverse_loop(ctx, step, grad_out, grad_h, h_prev):
    """Backpropagation through time with one device kernel per step for the gate gradients."""
    _, _, w_hh, _, acts, gates_h, _ = ctx.saved_arrays
    xp = ctx.xp
    steps = acts.shape[0]
    dgates_x, dgates_h = xp.empty_like(acts), xp.empty_like(acts)
    dh = grad_h.copy()
    direct = xp.empty_like(dh)
    for t in range(steps) if ctx.reverse else range(steps - 1, -1, -1):
        dh += grad_out[t]
        step(dh, acts[t], gates_h[t], h_prev[t], dgates_x[t], dgates_h[t], direct)
        xp.matmul(dgates_h[t], w_hh, out=dh)
        dh += direct
    return dgates_x, dgates_h, dh


def _recorded_backward(ctx, grad_out, grad_h):
    """Backward in ember ops (for ``create_graph=True``): the forward is recomputed from the saved
    inputs so that the gradients stay differentiable in them."""
    gates_x, h0, w_hh, b_hh = ctx.saved_tensors[:4]
    steps = gates_x.shape[0]
    order = range(steps - 1, -1, -1) if ctx.reverse else range(steps)
    w_t = w_hh.t()
    h, states = h0, {}
    for t in order:
        gh = h.matmul(w_t)
        if b_hh is not None:
            gh = gh + b_hh
        x_r, x_z, x_n = gates_x[t].chunk(3, 1)
        h_r, h_z, h_n = gh.chunk(3, 1)
        r, z = (x_r + h_r).sigmoid(), (x_z + h_z).sigmoid()
        n = (x_n + r * h_n).tanh()
        states[t] = (r, z, n, h_n, h)
        h = n + z * (h - n)
    dh = grad_h
    dgates_x, dgates_h, h_prev = [None] * steps, [None] * steps, [None] * steps
    for t in reversed(order):
        r, z, n, h_n, h_prev[t] = states[t]
        dh = dh + grad_out[t]
        d_n = dh * (1 - z) * (1 - n * n)
        d_r = d_n * h_n * r * (1 - r)
        d_z = dh * (h_prev[t] - n) * z * (1 - z)
        dgates_x[t] = movement.Cat.apply(d_r, d_z, d_n, dim=1)
        dgates_h[t] = d = movement.Cat.apply(d_r, d_z, d_n * r, dim=1)
        dh = dh * z + d.matmul(w_hh)
    grad_h_gates = movement.Stack.apply(*dgates_h, dim=0)
    hidden = w_hh.shape[1]
    grad_w = (
        grad_h_gates.reshape(-1, 3 * hidden)
        .t()
        .matmul(movement.Stack.apply(*h_prev, dim=0).reshape(-1, hidden))
    )
    grad_b = None if b_hh is None else grad_h_gates.sum((0, 1))
    grads = (movement.Stack.apply(*dgates_x, dim=0), dh, grad_w, grad_b)
    need = ctx.needs_input_grad
    return tuple(g if need[k] else None for k, g in enumerate(grads)) + (None,)
