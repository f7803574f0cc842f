"""Model serving: an Open Inference Protocol v2 server over onnxruntime, and the controller
that makes it match the Model Registry's InferenceServices (`python -m serving.controller`)."""

__version__ = "0.1.0"
