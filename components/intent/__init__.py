"""The intent layer: what a platform team declares in `stacks/Pulumi.<env>.yaml`.

Pure pydantic models: no Pulumi import, no network, nothing computed at import time.
"""
