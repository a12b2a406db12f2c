"""``mtk embed``: music embeddings learned contrastively from metadata associations (in progress)."""
