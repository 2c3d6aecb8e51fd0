"""``ember.sparse``: sparse COO (and CSR) tensors with autograd through sparse @ dense.

The kernels are SciPy's ``scipy.sparse`` on the CPU (the optional extra ``sparse``:
``pip install "ember[sparse]"``) and ``cupyx.scipy.sparse`` on CUDA.

>>> import ember
>>> adj = ember.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 1.0], (2, 2))
>>> ember.sparse.mm(adj, ember.tensor([[1.0], [2.0]]))
tensor([[2.],
        [1.]])
"""

from ember.sparse.creation import check_sparse_tensor_invariants, dense_to_sparse, sparse_coo_tensor, spdiags
from ember.sparse.csr import SparseCsrTensor, sparse_csr_tensor
from ember.sparse.functional import addmm, hspmm, log_softmax, mm, smm, softmax, spmm, sum
from ember.sparse.legacy import ByteTensor, DoubleTensor, FloatTensor, IntTensor, LongTensor
from ember.sparse.tensor import SparseTensor

__all__ = [
    "ByteTensor",
    "DoubleTensor",
    "FloatTensor",
    "IntTensor",
    "LongTensor",
    "SparseCsrTensor",
    "SparseTensor",
    "addmm",
    "check_sparse_tensor_invariants",
    "dense_to_sparse",
    "hspmm",
    "log_softmax",
    "mm",
    "smm",
    "softmax",
    "sparse_coo_tensor",
    "sparse_csr_tensor",
    "spdiags",
    "spmm",
    "sum",
]
