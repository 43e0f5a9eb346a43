"""Compatibility layers that let code written for other training libraries run on runnerkit."""
