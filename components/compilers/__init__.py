"""Compilers: pure functions from intent to plain data (manifests, Helm values, API requests).

No Pulumi import here, so every rule is testable as plain Python.
"""
