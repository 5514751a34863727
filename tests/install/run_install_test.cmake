# ctest -P script: installs the build tree into a temporary prefix, configures and
# builds tests/install/ against it with find_package(ganomaly), and runs the result.
# Needs BINARY_DIR, SOURCE_DIR, WORK_DIR; GENERATOR, C_COMPILER, CXX_COMPILER optional;
# LIBRARY_FILE is the library's file name (libganomaly.a unless the build made it shared).
# PUBLIC_HEADERS_FILE lists the public C++ headers (GANOMALY_PUBLIC_HEADERS in
# CMakeLists.txt), one a line: exactly those must be installed, and each must compile on
# its own against the installed tree (so none includes a header that was not installed).
foreach(var BINARY_DIR SOURCE_DIR WORK_DIR PUBLIC_HEADERS_FILE)
  if(NOT ${var})
    message(FATAL_ERROR "run_install_test.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT LIBRARY_FILE)
  set(LIBRARY_FILE libganomaly.a)
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install "${BINARY_DIR}" --prefix "${prefix}")
foreach(f include/ganomaly/ganomaly.h include/ganomaly/cxx/ganomaly/model/ganomaly.h
          include/ganomaly/cxx/tensor/tensor.h lib/${LIBRARY_FILE} lib/cmake/ganomaly/ganomalyConfig.cmake
          lib/cmake/ganomaly/ganomalyConfigVersion.cmake lib/cmake/ganomaly/ganomalyTargets.cmake
          bin/ganomaly_infer bin/ganomaly_train)
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "not installed: ${prefix}/${f}")
  endif()
endforeach()

# The installed C++ headers are the public list, no more and no less; one translation unit
# per header includes it alone (tests/install/CMakeLists.txt compiles them).
file(STRINGS "${PUBLIC_HEADERS_FILE}" public_headers)
set(cxx_dir "${prefix}/include/ganomaly/cxx")
file(GLOB_RECURSE installed RELATIVE "${cxx_dir}" "${cxx_dir}/*")
list(SORT installed)
set(wanted ${public_headers})
list(SORT wanted)
if(NOT installed STREQUAL wanted)
  set(missing ${wanted})
  list(REMOVE_ITEM missing ${installed})
  set(extra ${installed})
  list(REMOVE_ITEM extra ${wanted})
  message(FATAL_ERROR "installed C++ headers differ from GANOMALY_PUBLIC_HEADERS: missing [${missing}], "
                      "not listed [${extra}]")
endif()
set(header_checks "${WORK_DIR}/header_checks")
foreach(header ${public_headers})
  string(MAKE_C_IDENTIFIER "${header}" name)
  file(WRITE "${header_checks}/${name}.cpp" "// Compiles ${header} alone.\n#include \"${header}\"\n")
endforeach()

set(config_args -S "${SOURCE_DIR}/tests/install" -B "${WORK_DIR}/build" "-DCMAKE_PREFIX_PATH=${prefix}"
    -DCMAKE_BUILD_TYPE=Release "-DHEADER_CHECKS=${header_checks}")
if(GENERATOR)
  list(APPEND config_args -G "${GENERATOR}")
endif()
if(C_COMPILER)
  list(APPEND config_args "-DCMAKE_C_COMPILER=${C_COMPILER}")
endif()
if(CXX_COMPILER)
  list(APPEND config_args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
run(${CMAKE_COMMAND} ${config_args})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
set(args)
if(MODEL)
  set(args "${MODEL}")
endif()
run("${WORK_DIR}/build/capi_consumer" ${args})
message(STATUS "C consumer: ${last_output}")
run("${WORK_DIR}/build/cxx_consumer")
message(STATUS "C++ consumer: ${last_output}")
file(REMOVE_RECURSE "${WORK_DIR}")
