# util/: ARRAY_SIZE, the error shape, buffers, backoff, the virtual clock.
# realloc is wrapped so the test can make an allocation fail.
provisiond_unit_test(test_util SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_util.c LIBS util)
target_link_options(test_util PRIVATE -Wl,--wrap=realloc)
