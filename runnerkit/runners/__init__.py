"""Runners: the training loops (``IterBasedRunner``, ``EpochBasedRunner``) and their base."""
