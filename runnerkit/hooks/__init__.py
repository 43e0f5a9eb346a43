"""Training hooks: the ``Hook`` base class and the built-in hooks."""
