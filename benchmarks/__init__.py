"""Parameter-choosing benchmarks (``python -m benchmarks.bench_answers`` ...).

Not part of the wheel: they measure this repository's choices (chunk size, fusion weights,
embedding model, speed) and need the public datasets and a checkout. The product's own
evaluation (gold sets, public benchmarks through ``fundstelle eval``) lives in ``eval/``.
"""
