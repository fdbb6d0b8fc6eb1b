"""Inference helpers: image inputs and outputs, grids, padding and tiling."""
