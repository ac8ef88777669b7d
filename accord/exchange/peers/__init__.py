"""Peer installations: other countries' Accord (or any TAXII 2.1) servers, the
agreements on what crosses in each direction, pulling their material, and
retracting what they may no longer hold. See docs/federation.md."""
