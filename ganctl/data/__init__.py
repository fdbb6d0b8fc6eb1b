"""Datasets: catalog names, readers for the real layouts, synthetic data, batching."""
