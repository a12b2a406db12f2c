"""``mtk cover``: covers of a song in a listener's favourite genre (in progress: the genre classifier)."""
