# Integration test of the BMC layer against OpenIPMI's ipmi_sim on loopback
# (tests/integration/bmc/). Skipped (exit 77) when ipmi_sim is not installed.
if(WITH_FREEIPMI)
  add_executable(test_bmc_ipmi_sim
    ${CMAKE_CURRENT_LIST_DIR}/bmc/test_bmc_ipmi_sim.c
    ${CMAKE_CURRENT_LIST_DIR}/bmc/sim_harness.c)
  target_compile_definitions(test_bmc_ipmi_sim PRIVATE
    BMC_SIM_SRC="${CMAKE_CURRENT_LIST_DIR}/bmc")
  target_link_libraries(test_bmc_ipmi_sim PRIVATE bmc PkgConfig::CMOCKA Threads::Threads)
  add_test(NAME test_bmc_ipmi_sim COMMAND test_bmc_ipmi_sim)
  set_tests_properties(test_bmc_ipmi_sim PROPERTIES
    LABELS integration TIMEOUT 300 SKIP_RETURN_CODE 77)
endif()

# Serial-over-LAN opens that fail (ipmi_sim without SOL, a name that does not
# resolve) while other threads run IPMI commands: no descriptor of the process
# may be closed by them.
if(WITH_FREEIPMI)
  add_executable(test_bmc_ipmi_sol
    ${CMAKE_CURRENT_LIST_DIR}/bmc/test_bmc_ipmi_sol.c
    ${CMAKE_CURRENT_LIST_DIR}/bmc/sim_harness.c)
  target_compile_definitions(test_bmc_ipmi_sol PRIVATE
    BMC_SIM_SRC="${CMAKE_CURRENT_LIST_DIR}/bmc")
  target_link_libraries(test_bmc_ipmi_sol PRIVATE provisiond_core bmc PkgConfig::CMOCKA
    Threads::Threads)
  add_test(NAME test_bmc_ipmi_sol COMMAND test_bmc_ipmi_sol)
  set_tests_properties(test_bmc_ipmi_sol PROPERTIES
    LABELS "integration;ipmi" TIMEOUT 300 SKIP_RETURN_CODE 77)
endif()
