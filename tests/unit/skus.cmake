# skus/: catalog loader, overlap check, matcher, example facts.
provisiond_unit_test(test_skus SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_skus.c LIBS skus)
