"""ml-serving: GPU model serving on AWS as typed infrastructure.

Layers, top to bottom (imports only point down):
  components.intent     pure pydantic models of a stack (no Pulumi, no I/O)
  components.compilers  pure functions from intent to plain data
  components.*          Pulumi ComponentResources that turn compiled data into resources
  components.preview    the offline preview: runs __main__.py under a recording mock engine
"""
