"""noegletal — key figures for Danish municipal property (Nøgletalssamarbejdet på ejendomsområdet)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("noegletal")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"
