# cmake -DPROGRAM=... -DDOC=... -P CheckReference.cmake
# Fails when DOC differs from what PROGRAM --reference prints.
execute_process(COMMAND ${PROGRAM} --reference OUTPUT_VARIABLE generated RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} --reference failed (${rc})")
endif()
if(NOT EXISTS ${DOC})
  message(FATAL_ERROR "${DOC} is missing: cmake --build build --target reference_docs")
endif()
file(READ ${DOC} committed)
if(NOT committed STREQUAL generated)
  message(FATAL_ERROR "${DOC} is out of date with the schema: cmake --build build --target reference_docs")
endif()
message(STATUS "${DOC} matches the schema")
