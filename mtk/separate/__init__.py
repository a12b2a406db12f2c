"""``mtk separate``: source separation into drums, bass, lead and other, trained by mtk."""
