"""The ``alejandria`` command line. Its contract (commands, flags, JSON shapes) is stable."""
