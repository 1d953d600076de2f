# Empty compiler generated dependencies file for airlock.
# This may be replaced when dependencies are built.
