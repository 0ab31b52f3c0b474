"""The model registry: named models, their versions, artifacts, metrics and deployment."""
