"""Malmö contact-center IVR engine."""
