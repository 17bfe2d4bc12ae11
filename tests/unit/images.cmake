# images/: store paths, the confined open, raw and zstd hashing.
provisiond_unit_test(test_images
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_images.c LIBS images PkgConfig::ZSTD)
