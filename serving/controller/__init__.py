"""The model controller: makes a serving target match the registry's InferenceServices.

The registry stays passive; this loop reads desired state from it, makes the target serve
it — the local inference server (`--target local`: load/unload) or KServe
(`--target kserve`: InferenceService resources) — and writes what it observed back
(ServeModel records, the service's `url`).
"""
