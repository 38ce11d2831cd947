"""StudyHall: an async learning platform backend."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("studyhall")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
