"""The controller's KServe target plumbing: `resources` (pure functions: the
InferenceService resource a registry service becomes, update patches, status reading) and
`api` (the Kubernetes API calls, over the official client)."""
