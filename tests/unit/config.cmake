# provisiond/config.c: defaults, a valid file, every kind of bad file.
provisiond_unit_test(test_config
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_config.c LIBS provisiond_core)
