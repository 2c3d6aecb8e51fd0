"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their single-step cells.

Parameter names, shapes, gate order (LSTM i, f, g, o; GRU r, z, n) and initialisation
(U(-1/sqrt(hidden), 1/sqrt(hidden))) are PyTorch's, so weights interchange through ``state_dict``.
"""

from __future__ import annotations

import math
import numbers
import warnings

from ember import creation
from ember.nn import init
from ember.nn._functional import rnn as F_rnn
from ember.nn.modules._rnn_checks import RNNChecksMixin
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.nn.utils.rnn import PackedSequence
from ember.tensor import Tensor

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell", "RNNCellBase"]


class RNNBase(Module, RNNChecksMixin):
    """The shared machinery of ``RNN``, ``LSTM`` and ``GRU``: parameters, checks and the call.

    >>> RNNBase("LSTM", 3, 4).weight_ih_l0.shape
    ember.Size([16, 3])
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if mode not in F_rnn.MODES:
            raise ValueError(f"{name}: unrecognized RNN mode {mode!r}; expected one of {F_rnn.MODES}")
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError(
                f"{name}: dropout should be a number in range [0, 1] representing the probability of "
                f"an element being zeroed, got {dropout}"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"{name}: dropout option adds dropout after all but last recurrent layer, so non-zero "
                f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                f"num_layers={num_layers}",
                stacklevel=2,
            )
        for what, value in (("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}: {what} must be an integer greater than zero, got {value!r}")
        if proj_size < 0:
            raise ValueError(f"{name}: proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError(
                f"{name}: proj_size ({proj_size}) has to be smaller than hidden_size ({hidden_size})"
            )
        if proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        directions = 2 if bidirectional else 1
        gate_size = F_rnn.GATES[mode] * hidden_size
        real_hidden = proj_size or hidden_size
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else real_hidden * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for stem, shape in shapes:
                    param = Parameter(creation.empty(shape, device=device, dtype=dtype))
                    setattr(self, stem + suffix, param)
                    names.append(stem + suffix)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def flatten_parameters(self) -> None:
        """Kept for PyTorch compatibility: ember keeps no flat weight buffer, so this does nothing."""

    @property
    def _flat_weights(self) -> list[Tensor]:
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def _layer_weights(self) -> list[tuple]:
        out = []
        for names in self._all_weights:
            by_stem = {name.split("_l")[0]: getattr(self, name) for name in names}
            out.append(
                tuple(
                    by_stem.get(stem)
                    for stem in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
                )
            )
        return out

    def _state_shapes(self, batch: int) -> tuple[tuple, tuple]:
        lead = self.num_layers * (2 if self.bidirectional else 1)
        return (lead, batch, self.proj_size or self.hidden_size), (lead, batch, self.hidden_size)

    def _check_state(self, state: Tensor, expected: tuple, what: str) -> None:
        if tuple(state.shape) != expected:
            raise RuntimeError(
                f"{type(self).__name__}: Expected {what} size {expected}, got {list(state.shape)}"
            )

    def _prepare(self, input, hx):
        """Time-major input, its batch sizes (packed) or None, and (h0, c0) in the loop's batch order."""
        name = type(self).__name__
        is_lstm = self.mode == "LSTM"
        if isinstance(input, PackedSequence):
            x, sizes = input.data, [int(s) for s in input.batch_sizes.tolist()]
            batch, unbatched = sizes[0], False
        else:
            if input.dim() not in (2, 3):
                raise ValueError(
                    f"{name}: Expected input to be 2D (unbatched: seq, features) or 3D (batched), got "
                    f"{input.dim()}D input of shape {list(input.shape)}"
                )
            unbatched, sizes = input.dim() == 2, None
            x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
            batch = x.shape[1]
        if x.shape[-1] != self.input_size:
            raise RuntimeError(
                f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                f"{x.shape[-1]} (input of shape {list(x.shape)})"
            )
        h_shape, c_shape = self._state_shapes(batch)
        if hx is None:
            h0 = creation.zeros(h_shape, dtype=x.dtype, device=x.device)
            c0 = creation.zeros(c_shape, dtype=x.dtype, device=x.device) if is_lstm else None
        else:
            h0, c0 = hx if is_lstm else (hx, None)
            states = [h0] + ([c0] if is_lstm else [])
            if any(s.dim() != (2 if unbatched else 3) for s in states):
                kind = "unbatched 2-D" if unbatched else "batched 3-D"
                raise RuntimeError(
                    f"{name}: For {kind} input, hx should also be {2 if unbatched else 3}-D but got "
                    f"{', '.join(f'{s.dim()}-D' for s in states)} tensor(s)"
                )
            if unbatched:
                h0, c0 = h0.unsqueeze(1), (None if c0 is None else c0.unsqueeze(1))
            if isinstance(input, PackedSequence) and input.sorted_indices is not None:
                h0 = h0.index_select(1, input.sorted_indices)
                c0 = None if c0 is None else c0.index_select(1, input.sorted_indices)
        self._check_state(h0, h_shape, "hidden[0]" if is_lstm else "hidden")
        if c0 is not None:
            self._check_state(c0, c_shape, "hidden[1]")
        return x, sizes, unbatched, h0, c0

    def forward(self, input, hx=None):
        x, sizes, unbatched, h0, c0 = self._prepare(input, hx)
        out, h_n, c_n = F_rnn.rnn_layers(
            self.mode,
            x,
            sizes,
            h0,
            c0,
            self._layer_weights(),
            self.num_layers,
            self.bidirectional,
            self.dropout,
            self.training,
        )
        if isinstance(input, PackedSequence):
            output = PackedSequence(out, input.batch_sizes, input.sorted_indices, input.unsorted_indices)
            if input.unsorted_indices is not None:
                h_n = h_n.index_select(1, input.unsorted_indices)
                c_n = None if c_n is None else c_n.index_select(1, input.unsorted_indices)
        elif unbatched:
            output, h_n, c_n = out.squeeze(1), h_n.squeeze(1), (None if c_n is None else c_n.squeeze(1))
        else:
            output = out.transpose(0, 1) if self.batch_first else out
        return output, ((h_n, c_n) if self.mode == "LSTM" else h_n)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first is not False:
            text += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            text += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            text += f", bidirectional={self.bidirectional}"
        return text


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or relu), stacked.

    Arguments as PyTorch: ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``; ``forward(input, h0=None)`` returns
    ``(output, h_n)``.

    >>> import ember
    >>> rnn = RNN(3, 4, num_layers=2)
    >>> out, h = rnn(ember.ones(5, 2, 3))
    >>> out.shape, h.shape
    (ember.Size([5, 2, 4]), ember.Size([2, 2, 4]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(
            "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
        )
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory over a sequence (gates i, f, g, o); optional output projection.

    ``forward(input, (h0, c0)=None)`` returns ``(output, (h_n, c_n))``; with ``proj_size > 0``
    the hidden state is ``(o * tanh(c)) @ W_hr^T``.

    >>> import ember
    >>> lstm = LSTM(3, 4, batch_first=True, proj_size=2)
    >>> out, (h, c) = lstm(ember.ones(2, 5, 3))
    >>> out.shape, h.shape, c.shape
    (ember.Size([2, 5, 2]), ember.Size([1, 2, 2]), ember.Size([1, 2, 4]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )


class GRU(RNNBase):
    """Gated recurrent unit over a sequence (gates r, z, n; ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``).

    >>> import ember
    >>> out, h = GRU(3, 4, bidirectional=True)(ember.ones(5, 3))
    >>> out.shape, h.shape
    (ember.Size([5, 8]), ember.Size([2, 4]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
        )


# -- cells -------------------------------------------------------------------------------------
class RNNCellBase(Module):
    """Parameters and checks shared by the cells: ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``.

    >>> RNNCellBase(3, 4, True, 2).weight_ih.shape
    ember.Size([8, 3])
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None, dtype=None
    ) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        rows = num_chunks * hidden_size
        self.weight_ih = Parameter(creation.empty((rows, input_size), device=device, dtype=dtype))
        self.weight_hh = Parameter(creation.empty((rows, hidden_size), device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(creation.empty(rows, device=device, dtype=dtype))
            self.bias_hh = Parameter(creation.empty(rows, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def _batched(self, input: Tensor, states: list) -> tuple[Tensor, list, bool]:
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(
                f"{name}: Expected input to be 1D or 2D, got {input.dim()}D input of shape {list(input.shape)}"
            )
        unbatched = input.dim() == 1
        if unbatched:
            input = input.unsqueeze(0)
        batch = input.shape[0]
        if input.shape[1] != self.input_size:
            raise RuntimeError(
                f"{name}: input has inconsistent input_size: got {input.shape[1]} expected {self.input_size}"
            )
        out = []
        for s in states:
            if s is None:
                s = creation.zeros(batch, self.hidden_size, dtype=input.dtype, device=input.device)
            elif s.dim() != (1 if unbatched else 2):
                raise RuntimeError(
                    f"{name}: hidden state of shape {list(s.shape)} does not match input of shape "
                    f"{list(input.shape if not unbatched else input.shape[1:])}: expected "
                    f"{'(hidden_size,)' if unbatched else '(batch, hidden_size)'}"
                )
            elif unbatched:
                s = s.unsqueeze(0)
            out.append(s)
        return input, out, unbatched

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        return text + (f", nonlinearity={nonlinearity}" if nonlinearity != "tanh" else "")


class RNNCell(RNNCellBase):
    """One Elman step: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu).

    >>> import ember
    >>> RNNCell(3, 4)(ember.ones(2, 3)).shape
    ember.Size([2, 4])
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: Unknown nonlinearity: {nonlinearity}. Select from 'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), unbatched = self._batched(input, [hx])
        cell = F_rnn.rnn_tanh_cell if self.nonlinearity == "tanh" else F_rnn.rnn_relu_cell
        out = cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out.squeeze(0) if unbatched else out


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o): ``forward(input, (h, c)=None)`` returns ``(h', c')``.

    >>> import ember
    >>> h, c = LSTMCell(3, 4)(ember.ones(3))
    >>> h.shape, c.shape
    (ember.Size([4]), ember.Size([4]))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        x, (h, c), unbatched = self._batched(input, [None, None] if hx is None else list(hx))
        h, c = F_rnn.lstm_cell(x, (h, c), self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n): ``h' = (1 - z) * n + z * h``.

    >>> import ember
    >>> GRUCell(3, 4)(ember.ones(2, 3)).shape
    ember.Size([2, 4])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), unbatched = self._batched(input, [hx])
        out = F_rnn.gru_cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out.squeeze(0) if unbatched else out
