# provisiond/console/: the console ring buffer, the text it serves, and the
# capture manager with the fake BMC driver's (silent) console.
provisiond_unit_test(test_console SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_console.c
  LIBS provisiond_core)
