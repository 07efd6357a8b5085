"""Reporters: the only place with layout and colour. Each command's formats live in their own modules."""
