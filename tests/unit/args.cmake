# provisiond/args.c: the daemon's option table and its parser.
provisiond_unit_test(test_args
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_args.c LIBS provisiond_core)
