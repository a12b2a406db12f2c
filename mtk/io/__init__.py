"""Audio, MIDI and record I/O at mtk's boundary: read, validate, write atomically."""
