"""STIX 2.1: how shared things are written as STIX objects and read back."""
