file(REMOVE_RECURSE
  "CMakeFiles/airlock.dir/main.cc.o"
  "CMakeFiles/airlock.dir/main.cc.o.d"
  "airlock"
  "airlock.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/airlock.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
