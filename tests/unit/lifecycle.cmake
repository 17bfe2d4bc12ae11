# provisiond/lifecycle: lc_step and the deploy steps in process, on a
# temporary SQLite inventory, the fake BMC driver and the shipped catalog.
provisiond_unit_test(test_lifecycle
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_lifecycle.c LIBS provisiond_core)
