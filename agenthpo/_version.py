"""The package's version, in a module of its own so every layer can read it without importing
the package's public face (``agenthpo/__init__.py``), which sits above them all.

Example:
    >>> from agenthpo._version import __version__
    >>> __version__.count(".")
    2
"""

from __future__ import annotations

__version__ = "0.1.0"
