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
