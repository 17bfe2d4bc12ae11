# provisiond/log.c: JSON lines, typed fields (numbers, booleans), levels.
provisiond_unit_test(test_log
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_log.c LIBS provisiond_core)
