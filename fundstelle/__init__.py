"""Fundstelle: answers from a pile of source texts, every claim cited to the place that says it.

The installed package maps the repository's top-level folders: ``fundstelle.core`` (settings,
errors), ``fundstelle.ingest``, ``fundstelle.qa``, ``fundstelle.eval`` and ``fundstelle.ui``.
"""

__version__ = "0.1.0"
