# Cross-compiling for 64-bit ARM (aarch64, NEON) on Debian:
#   apt-get install crossbuild-essential-arm64 qemu-user-static
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64.cmake    (or: make test-arm64)
# Tests run under qemu-aarch64-static (CMAKE_CROSSCOMPILING_EMULATOR), and so do the apps
# that tests start themselves (popen, posix_spawn: GANOMALY_TEST_EMULATOR, see
# tests/support/run_app.h): no binfmt_misc registration is needed.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static -L /usr/aarch64-linux-gnu)

# -march=native would be the build machine's; aarch64 always has NEON, which xsimd uses.
set(GANOMALY_NATIVE OFF CACHE BOOL "Compile for this machine's CPU (-march=native)")
# No libstb for arm64 without multiarch: compile stb_image from its headers.
set(GANOMALY_STB_FROM_SOURCE ON CACHE BOOL "Compile stb_image from its headers")

# The header-only dependencies (xsimd, stb, cxxopts, nlohmann-json, doctest) are the
# build machine's Debian packages: architecture-independent. Only they are put on the
# include path, through a folder of links, never the whole host /usr/include.
if(NOT CMAKE_IN_TRY_COMPILE AND CMAKE_BINARY_DIR)
  set(_ganomaly_cross_include "${CMAKE_BINARY_DIR}/cross-include")
  file(MAKE_DIRECTORY "${_ganomaly_cross_include}")
  foreach(_entry xsimd stb cxxopts.hpp nlohmann doctest)
    if(EXISTS "/usr/include/${_entry}" AND NOT EXISTS "${_ganomaly_cross_include}/${_entry}")
      file(CREATE_LINK "/usr/include/${_entry}" "${_ganomaly_cross_include}/${_entry}" SYMBOLIC)
    endif()
  endforeach()
  foreach(_var XSIMD_INCLUDE_DIR STB_INCLUDE_DIR CXXOPTS_INCLUDE_DIR JSON_INCLUDE_DIR DOCTEST_INCLUDE_DIR)
    set(${_var} "${_ganomaly_cross_include}" CACHE PATH "header-only dependency (cross build)")
  endforeach()
endif()
