add_test(NAME style_banned_calls COMMAND ${CMAKE_SOURCE_DIR}/tests/check_banned.sh)
set_tests_properties(style_banned_calls PROPERTIES LABELS unit
  ENVIRONMENT "PROVISIOND_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
