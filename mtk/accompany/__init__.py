"""mtk accompany: a drum track for a drumless recording (JukeDrummer, scaled to a CPU).

The parts, each trained by ``mtk train accompany``: a beat and downbeat tracker trained on
drumless mixes (:mod:`mtk.accompany.tracker`, decoded by :mod:`mtk.accompany.beats`), the
shared log-mel front end (:mod:`mtk.accompany.features`) and the training material read from
``mtk corpus songs`` (:mod:`mtk.accompany.data`).
"""
