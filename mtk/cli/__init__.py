"""The ``mtk`` command line: a thin shell over mtk's Python API.

Modules here import only the standard library, typer and rich at module level; heavy
libraries are imported inside command bodies (a test guards this).
"""
