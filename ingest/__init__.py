"""Ingest: load files, cut them into chunks with offsets, embed them and keep them in a store."""
