"""Importers: turn a benchmark's records into problem files (problems/README.md)."""
