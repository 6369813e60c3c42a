# Cross-compiling the addon for linux-arm64 (Jetson Orin's CPU side) on an x86-64 Debian/Ubuntu host:
#   apt-get install g++-aarch64-linux-gnu      # and qemu-user to load-check the result
#   node scripts/build-native.mjs --arch arm64 --out prebuilds/linux-arm64/apreqel.node
# The compilers can be overridden with APREQEL_CROSS_PREFIX (default aarch64-linux-gnu-).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
if (DEFINED ENV{APREQEL_CROSS_PREFIX})
  set(_prefix "$ENV{APREQEL_CROSS_PREFIX}")
else()
  set(_prefix "aarch64-linux-gnu-")
endif()
set(CMAKE_C_COMPILER   "${_prefix}gcc")
set(CMAKE_CXX_COMPILER "${_prefix}g++")
