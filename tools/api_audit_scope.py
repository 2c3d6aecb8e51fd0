"""Which PyTorch names ember leaves out on purpose, and why (one category per name).

A name that matches a rule below is out of scope: it is listed with its reason in
``docs/api-coverage.md`` and does not count against the coverage targets (the raw coverage, over
all names, is reported beside). Everything else that ember lacks is a gap to fill.
"""

from __future__ import annotations

import re

QUANTIZATION = "quantization (quantized dtypes, observers, fake-quant)"
VENDOR = "vendor backend kernels and devices (cuDNN, MIOpen, MKLDNN, FBGEMM, XLA, IPU, MTIA, XPU)"
JIT = "TorchScript / JIT / torch.compile internals"
SYM = "symbolic shapes (sym_*, SymInt) for torch.compile"
AUTOCAST = "autocast's global setters and nesting counters (regions are entered with torch.autocast; the readers are in scope)"
STORAGE = "legacy typed storages (ember tensors own NumPy/CuPy arrays, not storages)"
NAMED = "named tensors"
NESTED = "nested tensors"
COMPLEX = "half-precision complex (complex32/chalf: NumPy has no such dtype) and complex storages"
DTYPES = "exotic dtypes (float8, sub-byte and bit types, unsigned 16/32/64-bit, quantized)"
SPARSE_COMPRESSED = "compressed sparse layouts (CSR/CSC/BSR/BSC); COO is in scope"
ATEN_INTERNAL = "ATen internal kernels (backward/statistics helpers, native_* and cell kernels)"
REMOVED = "removed from PyTorch (stubs that only raise)"
LEGACY = "legacy Variable API (volatile, reinforce)"
LAPACK = "LAPACK-level Householder routines (geqrf, orgqr, ormqr)"
DATAPIPES = "torchdata DataPipes (deprecated in PyTorch)"
CUDA_INTERNAL = "CUDA runtime internals (graphs, allocators, IPC, NVML probes, handles)"
DISPATCH = "__torch_function__ dispatch helpers"
PROFILER = "profiler internals"
EXPERIMENTAL = "experimental low-precision / grouped GEMM kernels"
INTERNAL = "implementation details reachable by accident (helpers, typing aliases)"
FIRST_CLASS_DIMS = "first-class dimensions (functorch.dim's Tensor.index)"
GRAD_DTYPE = "gradient dtype override (Tensor.grad_dtype, new in PyTorch 2.10)"


def _words(text: str) -> frozenset:
    return frozenset(text.split())


_GLOBAL = [
    (
        QUANTIZATION,
        (
            r"q_.*|quantize.*|quantized.*|dequantize|qint\d+|quint.*|qscheme|int_repr|"
            r"fake_quantize.*|fused_moving_avg_obs_fake_quant|choose_qparams.*|"
            r"empty_quantized|Q[U]?Int.*Storage"
        ),
    ),
    (
        VENDOR,
        (
            r"cudnn_.*|miopen_.*|mkldnn_.*|fbgemm_.*|to_mkldnn|.*_xla_.*|.*_ipu_.*|is_vulkan.*|"
            r"ipu|xpu|mtia|maia|is_vulkan_available|kleidiai|nnpack|cusparselt|miopen|mkl|"
            r"mkldnn|python_native|onednn"
        ),
    ),
    (SYM, r"sym_.*|Sym(Int|Float|Bool)(Type)?"),
    (
        AUTOCAST,
        r"autocast_(in|de)crement_nesting|set_autocast_(enabled|dtype|cpu_dtype|cpu_enabled|gpu_dtype)",
    ),
    (
        STORAGE,
        (
            r".*Storage|StorageBase|storage|untyped_storage|storage_type|set_|is_set_to|"
            r"UntypedStorage|TypedStorage"
        ),
    ),
    (NAMED, r"names|rename_?|refine_names|align_to|align_as|has_names"),
    (NESTED, r"is_nested|to_padded_tensor|nested"),
    (COMPLEX, (r"complex32|chalf|ComplexDoubleStorage|ComplexFloatStorage")),
    (DTYPES, r"float8_.*|float4_.*|u?int[1-7]|bits.*|bit|uint(16|32|64)"),
    (
        SPARSE_COMPRESSED,
        (
            r"sparse_(csr|csc|bsr|bsc|compressed)_tensor|crow_indices(_copy)?|"
            r"ccol_indices(_copy)?|col_indices(_copy)?|row_indices(_copy)?|"
            r"to_sparse_(csr|csc|bsr|bsc)|is_sparse_csr|resize_as_sparse_|"
            r"sparse_resize_.*|hspmm|sspaddmm|smm|saddmm|dsmm|hsmm"
        ),
    ),
    (REMOVED, r"eig|lstsq|solve|symeig|matrix_rank"),
    (LEGACY, r"volatile|reinforce"),
    (LAPACK, r"geqrf|orgqr|ormqr"),
    (
        DISPATCH,
        (
            r"handle_torch_function|has_torch_function.*|is_tensor_like|"
            r"DisableTorchFunction.*"
        ),
    ),
]

_JIT_NAMES = _words(
    "AliasDb AnyType ComplexType Argument ArgumentSpec AwaitType Block BoolType BufferDict CallStack Capsule "
    "ClassType Code CompilationUnit CompleteArgumentSpec ConcreteModuleType "
    "ConcreteModuleTypeBuilder DeepCopyMemoTable DeserializationStorageContext DeviceObjType "
    "DictType DispatchKey DispatchKeySet EnumType ErrorReport ExcludeDispatchKeyGuard "
    "ExecutionPlan FatalError FileCheck FloatType FunctionSchema Future FutureType Gradient Graph "
    "GraphExecutorState IODescriptor InferredType IntType InterfaceType JITException ListType "
    "LiteScriptModule LockingLogger LoggerBase ModuleDict Node NoneType NoopLogger NumberType "
    "OperatorInfo OptionalType ParameterDict PyObjectType PyTorchFileReader PyTorchFileWriter "
    "RRefType ScriptClass ScriptClassFunction ScriptDict ScriptDictIterator ScriptDictKeyIterator "
    "ScriptFunction ScriptList ScriptListIterator ScriptMethod ScriptModule ScriptModuleSerializer "
    "ScriptObject ScriptObjectProperty SerializationStorageContext StaticModule StreamObjType "
    "StringType Tag TensorType ThroughputBenchmark TracingState TupleType Type UnionType Use Value "
    "BenchmarkConfig BenchmarkExecutionStats AggregationType AVG SUM parse_ir parse_schema "
    "parse_type_comment merge_type_from_type_comment unify_type_list import_ir_module "
    "import_ir_module_from_buffer fork wait cond while_loop classproperty compiled_with_cxx11_abi "
    "get_file_path prepare_multiprocessing_environment profiler_allow_cudagraph_cupti_lazy_reinit_cuda12 "
    "thread_safe_generator hash_tensor nonzero_static slice_inverse module_load name "
    "is_distributed"
)

_ATEN_NAMES = _words(
    "batch_norm_backward_elemt batch_norm_backward_reduce batch_norm_elemt batch_norm_gather_stats "
    "batch_norm_gather_stats_with_counts batch_norm_stats batch_norm_update_stats convolution "
    "conv_tbc embedding_renorm_ feature_dropout feature_dropout_ feature_alpha_dropout "
    "feature_alpha_dropout_ norm_except_dim frobenius_norm nuclear_norm segment_reduce "
    "empty_permuted rnn_tanh rnn_relu rnn_tanh_cell rnn_relu_cell lstm gru lstm_cell gru_cell "
    "affine_grid_generator grid_sampler grid_sampler_2d grid_sampler_3d native_batch_norm "
    "native_channel_shuffle native_dropout native_group_norm native_layer_norm native_norm "
    "max_pool1d_with_indices constant_pad_nd"
)

_PER_NAMESPACE = {
    "torch (submodules)": [
        (
            JIT,
            (
                r"jit|fx|export|compiler|package|library|_dynamo|classes|overrides|futures|"
                r"func|masked|monitor|types|storage|torch_version|version"
            ),
        ),
        (QUANTIZATION, r"ao|quantization"),
        (VENDOR, r"mps|mtia|xpu|cpu"),
        (NESTED, r"nested"),
        (INTERNAL, r"functional|testing|hub|quasirandom|signal"),
    ],
    "torch.nn": [
        (INTERNAL, r"factory_kwargs|Container|LinearCrossEntropyOptions"),
        (EXPERIMENTAL, r"LinearCrossEntropyLoss"),
    ],
    "torch.nn.functional": [
        (INTERNAL, r"Tensor|assert_int_or_pair|boolean_dispatch|ScalingType|SwizzleType"),
        (EXPERIMENTAL, r"grouped_mm|scaled_grouped_mm|scaled_mm|linear_cross_entropy"),
        (ATEN_INTERNAL, r"conv_tbc|native_channel_shuffle"),
    ],
    "torch.nn.utils.rnn": [(INTERNAL, r"PackedSequence_|bind|copy_method_params")],
    "torch.nn.utils.parametrize": [
        (
            INTERNAL,
            (
                r"OpaqueBase|is_opaque_reference_type|"
                r"get_swap_module_params_on_conversion"
            ),
        )
    ],
    "torch.optim": [(INTERNAL, r"swap_in_optimizer_params_and_state")],
    "torch.optim.lr_scheduler": [(INTERNAL, r"Tensor")],
    "torch.utils.data": [
        (
            DATAPIPES,
            (
                r"DFIterDataPipe|DataChunk|IterDataPipe|MapDataPipe|functional_datapipe|"
                r"guaranteed_datapipes_determinism|non_deterministic|runtime_validation|"
                r"runtime_validation_disabled|argument_validation"
            ),
        ),
        (INTERNAL, r"_DatasetKind"),
    ],
    "torch.autograd": [
        (
            PROFILER,
            (
                r"DeviceType|ProfilerActivity|ProfilerConfig|ProfilerEvent|ProfilerState|"
                r"kineto_available"
            ),
        ),
        (INTERNAL, r"enforce_grad_layout_policy|is_view_replay_enabled|NestedIOFunction"),
    ],
    "torch.cuda": [
        (
            CUDA_INTERNAL,
            (
                r"CUDAGraph|CUDAPluggableAllocator|GreenContext|MemPool|caching_allocator_.*|"
                r"change_current_allocator|check_error|cudaStatus|cudart|"
                r"current_blas_handle|current_solver_handle|get_allocator_backend|"
                r"get_gencode_flags|graph|graph_pool_handle|host_memory_stats.*|"
                r"ipc_collect|is_current_stream_capturing|list_gpu_processes|"
                r"make_graphed_callables|memory_snapshot|power_draw|temperature|"
                r"clock_rate|utilization|use_mem_pool|get_sync_debug_mode|"
                r"set_sync_debug_mode|get_stream_from_external|ExternalStream|"
                r"reset_accumulated_host_memory_stats|reset_peak_host_memory_stats|"
                r"device_memory_used|lru_cache|classproperty|DeferredCudaCallError|"
                r"CudaError|has_magma"
            ),
        )
    ],
    "torch.backends.cuda": [
        (
            CUDA_INTERNAL,
            (
                r"cuBLASModule|cuFFTPlanCache.*|cufft_plan_cache|.*workspace_size|"
                r"preferred_.*_library|is_ck_sdpa_available|SDPAParams|"
                r"can_use_.*_attention"
            ),
        )
    ],
    "torch.backends.mps": [(VENDOR, r"get_core_count|get_name|is_macos.*")],
}


def _compile(rules):
    return [(reason, re.compile(rf"(?:{pattern})\Z")) for reason, pattern in rules]


_GLOBAL_RULES = _compile(_GLOBAL)
_NAMESPACE_RULES = {label: _compile(rules) for label, rules in _PER_NAMESPACE.items()}
_PROBES = re.compile(
    r"is_(xpu|mps|ipu|xla|meta|mkldnn|mtia|maia|vulkan|quantized|sparse|cuda|"
    r"cpu|nested)\Z"
)


def out_of_scope_reason(label: str, name: str):
    """Why ``name`` of the namespace ``label`` is left out on purpose, or None when in scope."""
    if _PROBES.match(name) and label == "torch.Tensor":
        return None  # device probes answer (False) even for devices ember lacks
    for reason, pattern in _NAMESPACE_RULES.get(label, ()):
        if pattern.match(name):
            return reason
    if label == "torch.Tensor" and name == "index":
        return FIRST_CLASS_DIMS
    if label == "torch.Tensor" and name == "grad_dtype":
        return GRAD_DTYPE
    if label in ("torch", "torch.Tensor"):
        if name in _JIT_NAMES:
            return JIT
        if name in _ATEN_NAMES:
            return ATEN_INTERNAL
    if label in ("torch.linalg",) and name in ("eig", "lstsq", "solve", "matrix_rank"):
        return None  # alive in torch.linalg
    for reason, pattern in _GLOBAL_RULES:
        if pattern.match(name):
            return reason
    return None
