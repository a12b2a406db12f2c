"""Corpus building and MIDI rendering."""
