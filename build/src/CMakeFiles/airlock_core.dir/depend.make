# Empty dependencies file for airlock_core.
# This may be replaced when dependencies are built.
