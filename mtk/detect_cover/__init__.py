"""Cover song detection: beat-synchronous chroma, 2D Fourier magnitude, kNN, Qmax alignment."""
