"""``record``'s summary on stderr at exit."""
