add_test(NAME integration_bmc_api
  COMMAND ${CMAKE_SOURCE_DIR}/tests/integration/bmc/api_ipmi.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
set_tests_properties(integration_bmc_api PROPERTIES LABELS integration TIMEOUT 300)
