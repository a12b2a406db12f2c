"""Network blocks shared by more than one mtk tool (no I/O, no device choice)."""
