"""Revisions of the local tracking store."""
