# provisiond's API layer: the route matcher, the route tables' invariants and
# the OpenAPI document made from them.
provisiond_unit_test(test_routes SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_routes.c
  LIBS provisiond_core)
provisiond_unit_test(test_http_admission
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_http_admission.c LIBS provisiond_core)
