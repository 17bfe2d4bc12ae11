# Unit tests of the BMC layer (provisiond/bmc). ctest -R bmc
provisiond_unit_test(test_bmc_core
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_bmc_core.c
  LIBS bmc)
provisiond_unit_test(test_bmc_dispatch
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_bmc_dispatch.c
  LIBS bmc)
if(WITH_LIBVIRT)
  # libvirt's built-in test:///default hypervisor: no daemon needed.
  provisiond_unit_test(test_bmc_libvirt
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_bmc_libvirt.c
    LIBS bmc)
endif()
