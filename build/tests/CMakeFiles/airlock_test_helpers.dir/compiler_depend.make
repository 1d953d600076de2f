# Empty custom commands generated dependencies file for airlock_test_helpers.
# This may be replaced when dependencies are built.
