"""ganctl's benchmarks, run from the repository root: `python -m bench.NAME`
(docs/performance.md says which writes what)."""
