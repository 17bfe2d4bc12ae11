# inventory/: the state store, on SQLite and (the _pg variants) PostgreSQL. One executable per area so that a
# crash in one (e.g. under ASan) does not hide the others' results; the
# target test_inventory builds them all.
set(_inv_tests schema machines alloc spread concurrency due sql secrets records rollouts
  replicas)
set(_inv_util ${CMAKE_CURRENT_LIST_DIR}/test_inventory_util.c)
add_custom_target(test_inventory)
foreach(t ${_inv_tests})
  provisiond_unit_test(test_inventory_${t}
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_inventory_${t}.c ${_inv_util}
    LIBS inventory PkgConfig::SQLITE3)
  add_dependencies(test_inventory test_inventory_${t})
  # the same tests on PostgreSQL, on a server tests/pg_fixture.sh starts
  if(WITH_POSTGRES)
    add_test(NAME test_inventory_${t}_pg
      COMMAND ${CMAKE_SOURCE_DIR}/tests/pg_fixture.sh $<TARGET_FILE:test_inventory_${t}>)
    set_tests_properties(test_inventory_${t}_pg PROPERTIES LABELS "unit;postgres" TIMEOUT 300
      SKIP_RETURN_CODE 77)
  endif()
endforeach()
