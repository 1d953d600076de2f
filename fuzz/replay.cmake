# Fuzz corpora replayed in the default build (included from tests/CMakeLists.txt): each engine target
# of fuzz/targets.cmake built with the main tree's compiler around fuzz/replay_main.cc, and one ctest
# entry per target, fuzz.replay.<name>, that runs every seed of fuzz/corpus/<name> once. A crash or an
# assertion fails it (and ASan/UBSan reports do in the sanitizer build, scripts/test-sanitizers.sh).
# The detector families' targets (fuzz/office, fuzz/content) have no seed corpus here yet.
include(${CMAKE_CURRENT_LIST_DIR}/targets.cmake)
set(fuzz_root ${CMAKE_CURRENT_LIST_DIR}/..)
add_library(airlock_fuzz_replay_main OBJECT ${fuzz_root}/fuzz/replay_main.cc)  # compiled once for every driver
foreach(name IN LISTS AIRLOCK_FUZZ_ENGINE_TARGETS)
  set(target fuzz_${name}_replay)
  set(sources ${fuzz_root}/fuzz/fuzz_${name}.cc $<TARGET_OBJECTS:airlock_fuzz_replay_main>)
  set(missing "")
  foreach(src IN LISTS AIRLOCK_FUZZ_${name}_SOURCES)
    if(EXISTS ${fuzz_root}/${src})
      list(APPEND sources ${fuzz_root}/${src})
    else()
      list(APPEND missing ${src})
    endif()
  endforeach()
  if(missing)
    message(WARNING "fuzz replay ${name}: sources moved (${missing}); update fuzz/targets.cmake")
    continue()
  endif()
  add_executable(${target} ${sources})
  set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  airlock_fuzz_target_deps(${target} ${name} ${fuzz_root})
  add_test(NAME fuzz.replay.${name} COMMAND ${target} ${fuzz_root}/fuzz/corpus/${name})
  set_tests_properties(fuzz.replay.${name} PROPERTIES TIMEOUT 300 LABELS fuzz)
endforeach()
