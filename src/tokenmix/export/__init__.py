"""Export a model to ONNX, TorchScript or a torch.export ExportedProgram (dynamic batch size), and check the
exported artifact against the eager model. ONNX files are self-contained and carry their preprocessing
(metadata.py); quantize.py makes int8 ONNX files with onnxruntime."""

from .formats import FORMATS, export_model
from .parity import ParityReport, check_parity

__all__ = ["FORMATS", "ParityReport", "check_parity", "export_model"]
