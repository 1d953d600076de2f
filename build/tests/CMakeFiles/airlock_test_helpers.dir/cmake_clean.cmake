
# Per-language clean rules from dependency scanning.
foreach(lang )
  include(CMakeFiles/airlock_test_helpers.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
