"""Built-in plugins, registered through the `ganctl.plugins` entry-point group."""
