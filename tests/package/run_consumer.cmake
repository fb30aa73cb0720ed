# cmake -P script: build and run tests/package/consumer the way an embedder
# would, against this build's flavour (static or shared, SHARED=ON|OFF):
#   MODE=find_package  install BUILD_DIR into WORK_DIR/prefix, then
#                      find_package(realtime) against that prefix only;
#   MODE=subdirectory  add_subdirectory(SOURCE_DIR) from the consumer, so
#                      the library is built again inside the consumer's tree
#                      (no optimisation: this checks wiring, not speed).
# Then runs the consumer and, if the examples were built, embed_chat.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message("${out}")
endfunction()

set(args -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
         "-DCMAKE_CXX_FLAGS=${EXTRA_FLAGS}"
         "-DCMAKE_EXE_LINKER_FLAGS=${EXTRA_FLAGS}"
         -DREALTIME_EXAMPLES=${SOURCE_DIR}/examples)
if(MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
  list(APPEND args -DCMAKE_PREFIX_PATH=${prefix})
elseif(MODE STREQUAL "subdirectory")
  list(APPEND args -DREALTIME_SOURCE_DIR=${SOURCE_DIR} -DBUILD_SHARED_LIBS=${SHARED} -DCMAKE_BUILD_TYPE=)
else()
  message(FATAL_ERROR "MODE must be find_package or subdirectory, not '${MODE}'")
endif()

run(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/build -G Ninja ${args})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build -j 2)
if(SHARED)
  # The programs must use the shared library, not a copy of its objects.
  execute_process(COMMAND ldd ${WORK_DIR}/build/consumer OUTPUT_VARIABLE deps)
  if(NOT deps MATCHES "librealtime\\.so")
    message(FATAL_ERROR "a shared build's consumer does not load librealtime.so:\n${deps}")
  endif()
  message("consumer: loads librealtime.so")
endif()
execute_process(COMMAND ${WORK_DIR}/build/consumer RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "consumer: ann received \\[hello from bob\\]")
  message(FATAL_ERROR "the consumer did not relay bob's line to ann (exit ${rc}):\n${out}\n${err}")
endif()
message("${out}")
if(EXISTS ${WORK_DIR}/build/embed_chat)
  run(${WORK_DIR}/build/embed_chat)
  message("consumer: embed_chat ran")
endif()
