add_test(NAME integration_bmc_api
  COMMAND ${CMAKE_SOURCE_DIR}/tests/integration/bmc/api_ipmi.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
set_tests_properties(integration_bmc_api PROPERTIES LABELS integration TIMEOUT 300)
if(WITH_FREEIPMI AND WITH_IPMICONSOLE)
  add_test(NAME integration_console_sol
    COMMAND ${CMAKE_SOURCE_DIR}/tests/integration/bmc/api_console.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
  set_tests_properties(integration_console_sol PROPERTIES LABELS integration TIMEOUT 300
    SKIP_RETURN_CODE 77)
endif()
if(WITH_FREEIPMI AND WITH_IPMICONSOLE)
  # The lab's wiring with a real (diskless) VM: label qemu, like the other
  # tests that boot one.
  add_test(NAME integration_console_vm
    COMMAND ${CMAKE_SOURCE_DIR}/tests/integration/bmc/api_console_vm.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
  set_tests_properties(integration_console_vm PROPERTIES LABELS "integration;qemu" TIMEOUT 300
    SKIP_RETURN_CODE 77)
endif()
if(WITH_LIBVIRT)
  # The libvirt driver's console: a diskless domain in the running libvirtd
  # (or one the test starts the lab's way), label qemu like the other tests
  # that boot a VM.
  add_test(NAME integration_console_libvirt
    COMMAND ${CMAKE_SOURCE_DIR}/tests/integration/bmc/api_console_libvirt.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
  set_tests_properties(integration_console_libvirt PROPERTIES LABELS "integration;qemu" TIMEOUT 300
    SKIP_RETURN_CODE 77)
endif()
