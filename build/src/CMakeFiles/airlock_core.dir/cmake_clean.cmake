file(REMOVE_RECURSE
  "CMakeFiles/airlock_core.dir/core/log.cc.o"
  "CMakeFiles/airlock_core.dir/core/log.cc.o.d"
  "libairlock_core.a"
  "libairlock_core.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/airlock_core.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
