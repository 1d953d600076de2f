# airlock_add_tier_tests(<target> PREFIX <p> [LABELS ...] [TIMEOUT s] [ROOT_LOCK ...] [USER_LOCK ...]
#                        [LOCK_RULES "regex=lock" ...] [SERIAL_REGEX re] [REQUIRED_REGEX re])
# Registers every gtest test of <target> twice, as <p>.root.<Suite>.<Test> and <p>.user.<Suite>.<Test>
# (tier_tests.cmake does it when ctest starts, from the binary's --gtest_list_tests). The user variants
# need the fixture airlock_user_stage: one ctest entry (tiers.user.stage) copies the binaries into a
# world-readable directory once per ctest run, instead of once per test; tiers.user.unstage removes it
# (and the tests' TMPDIRs in it) after the last of them.
set(AIRLOCK_TIER_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/tier_tests.cmake)
string(MD5 _airlock_build_hash "${CMAKE_BINARY_DIR}")
string(SUBSTRING "${_airlock_build_hash}" 0 12 _airlock_build_hash)
# Short: Chromium puts a Unix socket (108-byte path limit) under the TMPDIR made inside it.
set(AIRLOCK_USER_STAGE_DIR /tmp/airlock-user-${_airlock_build_hash})
set_property(GLOBAL PROPERTY AIRLOCK_USER_STAGE_BINS "")

function(airlock_add_tier_tests target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "PREFIX;TIMEOUT;SERIAL_REGEX;REQUIRED_REGEX"
                        "LABELS;ROOT_LOCK;USER_LOCK;LOCK_RULES")
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 300)
  endif()
  set_property(GLOBAL APPEND PROPERTY AIRLOCK_USER_STAGE_BINS "$<TARGET_FILE:${target}>")
  set(include_file ${CMAKE_CURRENT_BINARY_DIR}/${target}_tiers.cmake)
  file(GENERATE OUTPUT ${include_file} CONTENT "\
set(exe [==[$<TARGET_FILE:${target}>]==])
set(prefix [==[${arg_PREFIX}]==])
set(list_file [==[${CMAKE_CURRENT_BINARY_DIR}/${target}_tests.txt]==])
set(labels [==[${arg_LABELS}]==])
set(timeout [==[${arg_TIMEOUT}]==])
set(run_as_user [==[${AIRLOCK_RUN_AS_USER}]==])
set(stage_dir [==[${AIRLOCK_USER_STAGE_DIR}]==])
set(stage_fixture airlock_user_stage)
set(root_lock [==[${arg_ROOT_LOCK}]==])
set(user_lock [==[${arg_USER_LOCK}]==])
set(lock_rules [==[${arg_LOCK_RULES}]==])
set(serial_regex [==[${arg_SERIAL_REGEX}]==])
set(required_regex [==[${arg_REQUIRED_REGEX}]==])
include([==[${AIRLOCK_TIER_SCRIPT}]==])
")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${include_file})
endfunction()

# The stage for the user variants (call once, after every airlock_add_tier_tests). Exit 77 = not root
# (the user tier then runs the binaries directly as the calling user): skipped, and required in CI.
function(airlock_add_user_stage)
  get_property(bins GLOBAL PROPERTY AIRLOCK_USER_STAGE_BINS)
  add_test(NAME tiers.user.stage COMMAND ${AIRLOCK_RUN_AS_USER} --stage ${AIRLOCK_USER_STAGE_DIR} ${bins})
  set_tests_properties(tiers.user.stage PROPERTIES FIXTURES_SETUP airlock_user_stage SKIP_RETURN_CODE 77
                       TIMEOUT 300 LABELS "user;required-in-ci")
  add_test(NAME tiers.user.unstage COMMAND ${AIRLOCK_RUN_AS_USER} --unstage ${AIRLOCK_USER_STAGE_DIR})
  set_tests_properties(tiers.user.unstage PROPERTIES FIXTURES_CLEANUP airlock_user_stage LABELS user)
endfunction()
