# Precompiled headers: the build's biggest fixed cost is parsing the same third-party
# headers in every translation unit. nlohmann/json alone is ~1.4 s of gcc frontend per
# file, gtest ~0.9 s, the standard library the rest; a file that includes them all
# spends ~2.4 s before reaching its own first line, and the project has ~300 of them
# in each of CI's builds.
#
# So each group of targets that shares compile flags shares one precompiled header,
# built once by a small host target (REUSE_FROM needs the same flags, which is why the
# groups follow the directories that set flags):
#   pilot_pch_lib   the libraries and binaries (core/ log/ projections/ net/ admin/ cmd/)
#   pilot_pch_test  the tests (test/, whose CMakeLists lowers the optimisation)
# The fuzz directory builds instrumented copies with their own flags and is left as is.
#
# The header is included first in every C++ file of a target, so a file that forgets
# an #include of its own may still build here: configure with -DPILOT_PCH=OFF to
# check (every gcc build and CI's ThreadSanitizer build do).

# On by default with clang only: with gcc 12 a precompiled header made libstdc++'s
# -Warray-bounds false positives surface as errors (core/request_envelope.cc at -O2,
# log/scanner.cc at -O3; without it they stay silent in system headers), and gcc
# gained less from it (0.5-2 s per heavy file) than clang (10-20%).
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  set(pilot_pch_default ON)
else()
  set(pilot_pch_default OFF)
endif()
option(PILOT_PCH "Precompile nlohmann/json, gtest and the standard library headers" ${pilot_pch_default})
if(PILOT_PCH)
  # A header gcc cannot use (flags or definitions differ) is otherwise parsed again in
  # silence, and the build is slow for no visible reason: make it an error.
  add_compile_options(-Winvalid-pch)
endif()

set(PILOT_PCH_LIB_HEADERS <nlohmann/json.hpp> <chrono> <functional> <map> <memory> <mutex> <optional> <string>
                          <string_view> <thread> <unordered_map> <vector>)
set(PILOT_PCH_TEST_HEADERS ${PILOT_PCH_LIB_HEADERS} <gtest/gtest.h>)

# Creates the host target `name` in the current directory: HEADERS precompiled with the
# include paths of LIBS.
function(pilot_pch_host name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "HEADERS;LIBS")
  if(NOT PILOT_PCH)
    return()
  endif()
  set(anchor ${CMAKE_CURRENT_BINARY_DIR}/${name}_anchor.cc)
  if(NOT EXISTS ${anchor})
    file(WRITE ${anchor} "// Compiled only to build the precompiled header of ${name}.\n")
  endif()
  add_library(${name} OBJECT ${anchor})
  target_link_libraries(${name} PRIVATE ${arg_LIBS})
  target_precompile_headers(${name} PRIVATE ${arg_HEADERS})
endfunction()

# Every library and executable defined in `dir` and the directories below it (not
# those in SKIP) reuses the precompiled header of `host`; with LINKING, only those
# that link that library (the header was compiled with its compile definitions, and
# gcc refuses it where they are missing).
function(pilot_pch_use dir host)
  if(NOT PILOT_PCH)
    return()
  endif()
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "LINKING" "SKIP")
  list(FIND arg_SKIP ${dir} skipped)
  if(NOT skipped EQUAL -1)
    return()
  endif()
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t ${targets})
    get_target_property(type ${t} TYPE)
    if(t STREQUAL host OR NOT type MATCHES "^(STATIC_LIBRARY|OBJECT_LIBRARY|EXECUTABLE)$")
      continue()
    endif()
    if(arg_LINKING)
      get_target_property(links ${t} LINK_LIBRARIES)
      if(NOT arg_LINKING IN_LIST links)
        continue()
      endif()
    endif()
    target_precompile_headers(${t} REUSE_FROM ${host})
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub ${subdirs})
    pilot_pch_use(${sub} ${host} SKIP ${arg_SKIP} LINKING ${arg_LINKING})
  endforeach()
endfunction()
