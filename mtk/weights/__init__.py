"""Shipped model weights: a pure-Python registry, content-addressed files, model cards.

Importing this package (and :mod:`.registry`, :mod:`.store`) costs no torch import; only
:mod:`.checkpoint` touches torch, inside its functions.
"""
