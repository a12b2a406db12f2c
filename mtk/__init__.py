"""mtk: composable Unix-style music-AI tools.

Importing ``mtk`` is cheap: it pulls in no torch, numpy or other heavy library. The
command-line interface lives in :mod:`mtk.cli`, the Python API in the task packages.
"""

__version__ = "0.1.0"
