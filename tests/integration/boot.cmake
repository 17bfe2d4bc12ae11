add_test(NAME integration_boot_plane
  COMMAND ${CMAKE_SOURCE_DIR}/tests/integration/boot/boot_plane.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
set_tests_properties(integration_boot_plane PROPERTIES LABELS integration TIMEOUT 300)
