"""ganctl: train, sample and apply classic GANs from one command line, or from Python.

    import ganctl
    up = ganctl.load("photo-x4")                  # or Upscaler.load(), Translator.load(...)
    up("photo.jpg").save("photo-x4.png")
    result = ganctl.train("sneakers", "synthetic", steps=200)

Importing ganctl is cheap: torch and the models load on first use (docs/python.md).
"""

from __future__ import annotations

__version__ = "0.1.0"

_API = ("Detection", "Detector", "Generator", "TrainResult", "Translator", "Upscaler",
        "list_models", "load", "train")
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from ganctl import tasks

        return getattr(tasks, name)
    raise AttributeError(f"module 'ganctl' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
