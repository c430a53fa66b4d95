"""The offline preview: the real `__main__.py` under a recording mock engine.

No Pulumi CLI, AWS or Docker is involved. Tests use the same engine, so what reviewers
read in `build/<stack>/` is exactly what the tests assert on.
"""
