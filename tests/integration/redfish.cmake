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
# Console capture through the redfish driver: the lab BMC relaying a serial line
# as SerialConsole.Telnet (tests/integration/bmc/api_console_redfish.sh).
add_test(NAME integration_console_redfish
  COMMAND ${CMAKE_SOURCE_DIR}/tests/integration/bmc/api_console_redfish.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
set_tests_properties(integration_console_redfish PROPERTIES
  LABELS integration TIMEOUT 300 SKIP_RETURN_CODE 77)
# The same with a real (diskless) VM wired as the lab wires it: label qemu.
add_test(NAME integration_console_redfish_vm
  COMMAND ${CMAKE_SOURCE_DIR}/tests/integration/bmc/api_console_redfish_vm.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
set_tests_properties(integration_console_redfish_vm PROPERTIES
  LABELS "integration;qemu" TIMEOUT 300 SKIP_RETURN_CODE 77)
