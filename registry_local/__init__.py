"""Bundled lightweight Model Registry speaking the Kubeflow Model Registry REST API."""
