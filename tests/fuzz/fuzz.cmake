# Fuzz targets: one LLVMFuzzerTestOneInput file per input the daemon parses,
# each with its seed corpus in corpus/<target>/.
#
# Normal builds link each target with driver.c and ctest runs it as a smoke
# fuzz: the corpus, then deterministic mutations (under the sanitizers in
# the ASan build). With -DPROVISIOND_LIBFUZZER=ON (clang) the targets link
# with -fsanitize=fuzzer for coverage-guided runs (tests/fuzz/run); ctest
# then replays the seed corpus only (-runs=0 writes nothing to the tree).
set(PROVISIOND_FUZZ_TARGETS
  facts:skus
  api_body:provisiond_core
  routes:provisiond_core
  agent_reports:provisiond_core
  sku_file:skus
  config:provisiond_core
  pxe:pxe
  console:provisiond_core)
foreach(entry ${PROVISIOND_FUZZ_TARGETS})
  string(REPLACE ":" ";" parts ${entry})
  list(GET parts 0 target)
  list(GET parts 1 lib)
  set(corpus ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${target})
  if(PROVISIOND_LIBFUZZER)
    add_executable(fuzz_${target} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${target}.c)
    target_link_options(fuzz_${target} PRIVATE -fsanitize=fuzzer)
    add_test(NAME fuzz_${target} COMMAND fuzz_${target} -runs=0 ${corpus})
  else()
    add_executable(fuzz_${target} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${target}.c
      ${CMAKE_SOURCE_DIR}/tests/fuzz/driver.c)
    add_test(NAME fuzz_${target} COMMAND fuzz_${target} ${corpus} 100000)
  endif()
  target_link_libraries(fuzz_${target} PRIVATE ${lib})
  set_tests_properties(fuzz_${target} PROPERTIES LABELS fuzz TIMEOUT 300
    ENVIRONMENT "PROVISIOND_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endforeach()
# The redfish driver's handling of BMC answers, served over loopback by the unit
# tests' scripted responder: each input costs a few HTTP round trips, so fewer
# mutations (corpus: recorded answers, tests/fuzz/corpus_redfish/).
if(WITH_REDFISH AND NOT PROVISIOND_LIBFUZZER)
  add_executable(fuzz_redfish ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_redfish.c
    ${CMAKE_SOURCE_DIR}/tests/fuzz/driver.c ${CMAKE_SOURCE_DIR}/tests/unit/test_bmc_redfish_srv.c)
  target_include_directories(fuzz_redfish PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit)
  target_link_libraries(fuzz_redfish PRIVATE bmc PkgConfig::MHD)
  add_test(NAME fuzz_redfish
    COMMAND fuzz_redfish ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus_redfish 1500)
  set_tests_properties(fuzz_redfish PROPERTIES LABELS fuzz TIMEOUT 300
    ENVIRONMENT "PROVISIOND_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endif()
