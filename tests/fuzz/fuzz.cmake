# Smoke fuzzing in every test run: corpus + deterministic mutations (driver.c).
foreach(target facts api_body)
  add_executable(fuzz_${target} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${target}.c
    ${CMAKE_SOURCE_DIR}/tests/fuzz/driver.c)
  add_test(NAME fuzz_${target}
    COMMAND fuzz_${target} ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus 100000)
  set_tests_properties(fuzz_${target} PROPERTIES LABELS fuzz TIMEOUT 300
    ENVIRONMENT "PROVISIOND_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endforeach()
target_link_libraries(fuzz_facts PRIVATE skus)
target_link_libraries(fuzz_api_body PRIVATE provisiond_core)
# The redfish driver's handling of BMC answers, served over loopback by the unit
# tests' scripted responder: each input costs a few HTTP round trips, so fewer
# mutations (corpus: recorded answers, tests/fuzz/corpus_redfish/).
if(WITH_REDFISH)
  add_executable(fuzz_redfish ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_redfish.c
    ${CMAKE_SOURCE_DIR}/tests/fuzz/driver.c ${CMAKE_SOURCE_DIR}/tests/unit/test_bmc_redfish_srv.c)
  target_include_directories(fuzz_redfish PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit)
  target_link_libraries(fuzz_redfish PRIVATE bmc PkgConfig::MHD)
  add_test(NAME fuzz_redfish
    COMMAND fuzz_redfish ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus_redfish 1500)
  set_tests_properties(fuzz_redfish PROPERTIES LABELS fuzz TIMEOUT 300
    ENVIRONMENT "PROVISIOND_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endif()
