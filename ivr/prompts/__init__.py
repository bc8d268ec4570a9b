"""Prompt audio: render text with espeak-ng, convert with sox to what Asterisk plays (8 kHz mono)."""
