# provisiond/macs.c: the one MAC-list reader (enroll and agent lookup).
provisiond_unit_test(test_macs
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/test_macs.c
    ${CMAKE_SOURCE_DIR}/provisiond/macs.c
  LIBS util PkgConfig::JANSSON)
