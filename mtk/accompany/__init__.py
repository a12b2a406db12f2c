"""mtk accompany: a drum track for a drumless recording (JukeDrummer, scaled to a CPU).

The parts, each trained by ``mtk train accompany --stage ...`` and measured by
``mtk eval accompany``:

- :mod:`~mtk.accompany.features`: the shared log-mel front end (80 bands, hop 256, 22.05 kHz);
- :mod:`~mtk.accompany.tracker` and :mod:`~mtk.accompany.beats`: the beat and downbeat
  tracker trained on drumless mixes, and its decoding; :mod:`~mtk.accompany.conditioning`
  turns its three levels of information into per-code inputs;
- :mod:`~mtk.accompany.vqvae` (with :mod:`mtk.nn.vq`): the drum and drumless VQ-VAEs;
- :mod:`~mtk.accompany.lm` and :mod:`~mtk.accompany.generate`: the drum language model and
  windowed sampling of any length;
- :mod:`~mtk.accompany.vocoder`: the Vocos-style vocoder (Griffin-Lim is the baseline);
- :mod:`~mtk.accompany.pipeline`: all of them in a row (``load()``: the shipped accompanist);
  :mod:`~mtk.accompany.infer` loads parts; :mod:`~mtk.accompany.release`: the parts in one
  release file; :mod:`~mtk.accompany.api`: what ``mtk accompany`` does (takes, the best by beat
  agreement, loudness, the mix, MIDI and a kit);
- :mod:`~mtk.accompany.data`, :mod:`~mtk.accompany.lmdata` and the ``train_*`` modules:
  training material from ``mtk corpus songs`` and the training loops;
- :mod:`~mtk.accompany.evaluate`, :mod:`~mtk.accompany.drumscores`,
  :mod:`~mtk.accompany.drummachine` and :mod:`~mtk.accompany.soundpath`: the evaluation.
"""
