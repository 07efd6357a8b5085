"""Reporters of ``policyctl import`` (the stderr summary and progress bar)."""
