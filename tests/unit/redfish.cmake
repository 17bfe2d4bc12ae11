# Unit tests of the redfish BMC driver against a scripted Redfish responder on
# loopback (tests/unit/redfish_fixtures/). ctest -R redfish
if(WITH_REDFISH)
  provisiond_unit_test(test_bmc_redfish
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_bmc_redfish.c
            ${CMAKE_CURRENT_LIST_DIR}/test_bmc_redfish_srv.c
    LIBS bmc PkgConfig::MHD)
endif()
# Virtual media and the CD boot device against the same responder.
if(WITH_REDFISH)
  provisiond_unit_test(test_bmc_redfish_media
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_bmc_redfish_media.c
            ${CMAKE_CURRENT_LIST_DIR}/test_bmc_redfish_srv.c
    LIBS bmc PkgConfig::MHD)
endif()
