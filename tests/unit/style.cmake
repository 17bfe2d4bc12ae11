add_test(NAME style_banned_calls COMMAND ${CMAKE_SOURCE_DIR}/tests/check_banned.sh)
set_tests_properties(style_banned_calls PROPERTIES LABELS unit
  ENVIRONMENT "PROVISIOND_SOURCE_DIR=${CMAKE_SOURCE_DIR}")

# Function length (STYLE.md: aim < 60 lines): bodies over 60 lines fail unless
# tests/function_length_allow.txt lists them; the second test checks the
# checker on small trees of its own.
add_test(NAME style_function_length COMMAND ${CMAKE_SOURCE_DIR}/tests/check_function_length.sh)
set_tests_properties(style_function_length PROPERTIES LABELS unit
  ENVIRONMENT "PROVISIOND_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
add_test(NAME style_function_length_checker
  COMMAND ${CMAKE_SOURCE_DIR}/tests/check_function_length_test.sh)
set_tests_properties(style_function_length_checker PROPERTIES LABELS unit)
