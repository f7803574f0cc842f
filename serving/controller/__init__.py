"""The model controller: makes the inference server match the registry's InferenceServices.

The registry stays passive; this loop reads desired state from it, loads/unloads models on
the server, and writes what it observed back (ServeModel records, the service's `url`).
"""
