# Shared build settings and helpers for Postern targets.

add_library(postern_warnings INTERFACE)
target_compile_options(postern_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough
  -Wformat=2
  # -Wnull-dereference is left out: GCC 12 reports false positives inside
  # libstdc++ (streambuf) at -O2.
  # GCC 12 warns about designated initializers that leave fields to their
  # defaults, which is how schemas are declared.
  -Wno-missing-field-initializers)
if(POSTERN_WERROR)
  target_compile_options(postern_warnings INTERFACE -Werror)
endif()

if(POSTERN_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

if(POSTERN_FUZZ)
  # Fuzzing builds everything with clang and coverage instrumentation so the
  # libFuzzer targets see inside the libraries they exercise.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# postern_library(NAME SOURCES ... DEPS ... PRIVATE_DEPS ...)
# A static library under common/ with include/ as its public header root.
function(postern_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE postern_warnings ${ARG_PRIVATE_DEPS})
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()

# postern_program(NAME SOURCES ... DEPS ...): a program in build/bin,
# installed into sbin (milters and the admin tool are for root and services).
function(postern_program name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE postern_warnings ${ARG_DEPS})
  install(TARGETS ${name} RUNTIME DESTINATION sbin)
endfunction()

# postern_gtest(NAME LABEL label SOURCES ... DEPS ...): one GoogleTest binary,
# registered with ctest as one test carrying LABEL.
function(postern_gtest name)
  cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_LABEL)
    set(ARG_LABEL unit)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_link_libraries(${name} PRIVATE postern_warnings ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    POSTERN_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    POSTERN_BINARY_DIR="${CMAKE_BINARY_DIR}")
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT})
endfunction()

# postern_fuzzer(NAME SOURCES ... DEPS ... CORPUS dir)
# With POSTERN_FUZZ (clang): a libFuzzer binary. Always: a replayer built with
# the normal compiler that runs every file of CORPUS through the target, so each
# CI run replays the corpus (ctest label fuzz).
function(postern_fuzzer name)
  cmake_parse_arguments(ARG "" "CORPUS" "SOURCES;DEPS" ${ARGN})
  add_executable(${name}_replay ${ARG_SOURCES} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay_main.cpp)
  set_target_properties(${name}_replay PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_link_libraries(${name}_replay PRIVATE postern_warnings ${ARG_DEPS})
  add_test(NAME fuzz_${name} COMMAND ${name}_replay ${ARG_CORPUS})
  set_tests_properties(fuzz_${name} PROPERTIES LABELS fuzz TIMEOUT 300)
  if(POSTERN_FUZZ)
    add_executable(${name}_fuzzer ${ARG_SOURCES})
    set_target_properties(${name}_fuzzer PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
    target_compile_options(${name}_fuzzer PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${name}_fuzzer PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(${name}_fuzzer PRIVATE ${ARG_DEPS})
  endif()
endfunction()

# postern_reference_doc(TARGET SHORT)
# The configuration reference is generated from the schema (PROGRAM
# --reference) and committed as docs/reference/SHORT.md. A unit test fails
# when the committed file is stale; `cmake --build build --target
# reference_docs` regenerates every reference.
if(NOT TARGET reference_docs)
  add_custom_target(reference_docs)
endif()
function(postern_reference_doc target short)
  set(doc ${CMAKE_SOURCE_DIR}/docs/reference/${short}.md)
  add_custom_target(reference_doc_${short}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_SOURCE_DIR}/docs/reference
    COMMAND $<TARGET_FILE:${target}> --reference > ${doc}
    DEPENDS ${target}
    COMMENT "Regenerating docs/reference/${short}.md")
  add_dependencies(reference_docs reference_doc_${short})
  if(POSTERN_TESTS)
    add_test(NAME reference_doc_${short}
      COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:${target}> -DDOC=${doc}
              -P ${CMAKE_SOURCE_DIR}/cmake/CheckReference.cmake)
    set_tests_properties(reference_doc_${short} PROPERTIES LABELS unit TIMEOUT 30)
  endif()
endfunction()
