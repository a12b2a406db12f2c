"""mtk rank-samples: drum samples ranked by how well they fit a musical context (SampleMatch)."""
