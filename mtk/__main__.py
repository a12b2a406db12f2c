"""``python -m mtk`` runs the command-line interface."""

from mtk.cli.main import main

main()
