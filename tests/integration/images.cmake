# The image store against the real daemon (tests/integration/api_images.c):
# refused paths, what /images/ serves, URL images fetched from a loopback
# HTTP server run by the test.   ctest -R api_images
add_executable(api_images
  ${CMAKE_CURRENT_LIST_DIR}/api_images.c
  ${CMAKE_CURRENT_LIST_DIR}/harness.c)
target_include_directories(api_images PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(api_images PRIVATE inventory
  util PkgConfig::CMOCKA PkgConfig::CURL PkgConfig::JANSSON PkgConfig::SQLITE3
  PkgConfig::CRYPTO PkgConfig::ZSTD Threads::Threads)
foreach(dep provisiond provisionctl)
  if(TARGET ${dep})
    add_dependencies(api_images ${dep})
  endif()
endforeach()
add_test(NAME api_images COMMAND api_images)
set_tests_properties(api_images PROPERTIES LABELS integration TIMEOUT 600
  ENVIRONMENT "PROVISIOND_SOURCE_DIR=${CMAKE_SOURCE_DIR};PROVISIOND_BINARY_DIR=${CMAKE_BINARY_DIR}")
