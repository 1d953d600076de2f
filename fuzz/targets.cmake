# The engine's fuzz targets, listed once: fuzz/CMakeLists.txt builds them as libFuzzer programs with
# clang, fuzz/replay.cmake as corpus replays with the main tree's compiler (ctest fuzz.replay.<name>).
# Each target is fuzz/fuzz_<name>.cc plus AIRLOCK_FUZZ_<name>_SOURCES (relative to the repository
# root), seeded from fuzz/corpus/<name>; AIRLOCK_FUZZ_<name>_NEEDS names what it links (libarchive,
# fmt, json) and defines (version).
set(AIRLOCK_FUZZ_ENGINE_TARGETS archive_password report_writer tnef plain_text magic_numbers pool_wire
    run_report event_line analyze_report)
set(AIRLOCK_FUZZ_archive_password_SOURCES
    src/scan/unpack/archive_unpacker.cc src/scan/unpack/passwords.cc src/scan/unpack/sevenzip_sandbox.cc
    src/scan/unpack/rar_sandbox.cc src/scan/unpack/sandboxed_extractor.cc src/scan/unpack/rar5_headers.cc
    src/scan/unpack/zip_directory.cc src/scan/detectors/office/bytes.cc
    src/scan/limits.cc src/scan/file_util.cc src/runapi/run_request.cc src/process/spawn.cc src/core/helper_path.cc)
set(AIRLOCK_FUZZ_archive_password_NEEDS libarchive fmt version)
set(AIRLOCK_FUZZ_report_writer_SOURCES src/scan/report_json.cc src/scan/report_text.cc src/scan/verdict.cc src/core/json_text.cc
    src/core/report_envelope.cc src/core/navigator_layer.cc)
set(AIRLOCK_FUZZ_report_writer_NEEDS fmt json version)
set(AIRLOCK_FUZZ_tnef_SOURCES src/scan/unpack/tnef.cc src/scan/detectors/office/bytes.cc)
set(AIRLOCK_FUZZ_plain_text_SOURCES src/scan/plain_text.cc)
set(AIRLOCK_FUZZ_magic_numbers_SOURCES src/scan/magic_numbers.cc src/scan/plain_text.cc)
set(AIRLOCK_FUZZ_pool_wire_SOURCES src/pool/pool_wire.cc)
# The JSON writers (core/json_text.h): run report, monitor event lines, analyze report (the scan
# report is report_writer above). Each feeds arbitrary bytes to a writer and parses what it wrote.
set(AIRLOCK_FUZZ_run_report_SOURCES src/sandbox/outcome.cc src/runapi/run_report.cc src/core/json_text.cc src/core/file_read.cc
    src/core/report_envelope.cc)
set(AIRLOCK_FUZZ_run_report_NEEDS fmt json version)
set(AIRLOCK_FUZZ_event_line_SOURCES src/monitor/json_line.cc src/core/json_text.cc)
set(AIRLOCK_FUZZ_event_line_NEEDS fmt json)
set(AIRLOCK_FUZZ_analyze_report_SOURCES src/analyze/analysis_report.cc src/analyze/html_report.cc src/analyze/verdict.cc
    src/analyze/network_report.cc src/monitor/json_line.cc src/core/json_text.cc src/core/report_envelope.cc)
set(AIRLOCK_FUZZ_analyze_report_NEEDS fmt json version)

# airlock_fuzz_target_deps(<target> <name> <root>): the links and defines AIRLOCK_FUZZ_<name>_NEEDS asks for.
function(airlock_fuzz_target_deps target name root)
  target_include_directories(${target} PRIVATE ${root}/src)
  foreach(need IN LISTS AIRLOCK_FUZZ_${name}_NEEDS)
    if(need STREQUAL "libarchive")
      if(NOT TARGET PkgConfig::AIRLOCK_FUZZ_LIBARCHIVE)
        pkg_check_modules(AIRLOCK_FUZZ_LIBARCHIVE REQUIRED IMPORTED_TARGET GLOBAL libarchive)
      endif()
      target_link_libraries(${target} PRIVATE PkgConfig::AIRLOCK_FUZZ_LIBARCHIVE)
    elseif(need STREQUAL "fmt")
      target_link_libraries(${target} PRIVATE fmt::fmt-header-only)
    elseif(need STREQUAL "json")
      target_link_libraries(${target} PRIVATE nlohmann_json::nlohmann_json)
    elseif(need STREQUAL "version")
      target_compile_definitions(${target} PRIVATE AIRLOCK_VERSION="${PROJECT_VERSION}" AIRLOCK_LIBEXECDIR="${AIRLOCK_LIBEXECDIR}")
    endif()
  endforeach()
endfunction()
