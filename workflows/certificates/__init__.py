"""Issuing, rendering and announcing a certificate."""
