"""ganctl: train, sample and apply classic GANs from one command line."""

__version__ = "0.1.0"
