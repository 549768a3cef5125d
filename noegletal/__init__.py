"""noegletal — key figures for Danish municipal property (Nøgletalssamarbejdet på ejendomsområdet)."""

# The one place of the version: pyproject.toml reads it from here. Asking the installed metadata
# (importlib.metadata) instead cost 40 ms at every start of the command line and of every report kernel.
__version__ = "0.1.0"
