"""ONNX mappings of ember's primitives, one module per family; importing one registers it."""
