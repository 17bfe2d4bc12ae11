# Fault tests (docs/reliability.md): the real daemon under faults the test
# injects. Label chaos; each bounded in time.
#   ctest -L chaos
set(PROVISIOND_CHAOS_TESTS
  crash_loop     # 16 clients allocate and release while provisiond is kill -9ed 50 times;
                 # everything acknowledged survives, all settles, no double allocation
  storage_full)  # the database's filesystem fills mid-storm: fast 503s, reads work,
                 # /readyz says why, writes resume, nothing acknowledged lost

foreach(t ${PROVISIOND_CHAOS_TESTS})
  add_executable(${t}
    ${CMAKE_CURRENT_LIST_DIR}/${t}.c
    ${CMAKE_SOURCE_DIR}/tests/integration/harness.c)
  target_include_directories(${t} PRIVATE ${CMAKE_SOURCE_DIR}/tests/integration)
  target_compile_definitions(${t} PRIVATE PROVISIOND_IT_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  target_link_libraries(${t} PRIVATE
    util PkgConfig::CMOCKA PkgConfig::CURL PkgConfig::JANSSON PkgConfig::SQLITE3 Threads::Threads)
  foreach(dep provisiond provisionctl)
    if(TARGET ${dep})
      add_dependencies(${t} ${dep})
    endif()
  endforeach()
  add_test(NAME ${t} COMMAND ${t})
  set_tests_properties(${t} PROPERTIES LABELS chaos TIMEOUT 600
    ENVIRONMENT "PROVISIOND_SOURCE_DIR=${CMAKE_SOURCE_DIR};PROVISIOND_BINARY_DIR=${CMAKE_BINARY_DIR}")
endforeach()
