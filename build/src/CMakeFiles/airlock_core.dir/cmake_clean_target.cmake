file(REMOVE_RECURSE
  "libairlock_core.a"
)
