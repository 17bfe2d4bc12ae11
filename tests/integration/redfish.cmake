# The lab's Redfish BMC (lab/redfish-bmc) checked with Debian's python3-sushy and
# redfishtool, and provisiond's redfish driver against it (tests/integration/bmc/).
add_test(NAME integration_redfish_clients
  COMMAND ${CMAKE_SOURCE_DIR}/tests/integration/bmc/redfish_clients.sh ${CMAKE_BINARY_DIR})
set_tests_properties(integration_redfish_clients PROPERTIES
  LABELS integration TIMEOUT 300 SKIP_RETURN_CODE 77)
add_test(NAME integration_redfish_api
  COMMAND ${CMAKE_SOURCE_DIR}/tests/integration/bmc/api_redfish.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
set_tests_properties(integration_redfish_api PROPERTIES LABELS integration TIMEOUT 300)
# Virtual-media deploys: the ISO inserted, served once, ejected (tests/integration/bmc/api_vmedia.sh).
add_test(NAME integration_redfish_vmedia
  COMMAND ${CMAKE_SOURCE_DIR}/tests/integration/bmc/api_vmedia.sh ${CMAKE_BINARY_DIR})
set_tests_properties(integration_redfish_vmedia PROPERTIES
  LABELS integration TIMEOUT 300 SKIP_RETURN_CODE 77)
