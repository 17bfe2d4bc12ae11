# pxe: boot plane library tests.
#   test_pxe_render    scripts/configs vs golden files (PROVISIOND_UPDATE_GOLDEN=1
#                      rewrites tests/unit/pxe_golden/), dnsmasq --test, bad input
#   test_pxe_files     hosts dir, TFTP root
#   test_pxe_supervise dnsmasq start/stop/restart; the netns part needs root
#                      and iproute2 and is skipped otherwise
provisiond_unit_test(test_pxe_render
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_pxe_render.c LIBS pxe)
provisiond_unit_test(test_pxe_files
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_pxe_files.c LIBS pxe)
provisiond_unit_test(test_pxe_supervise
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_pxe_supervise.c LIBS pxe)
#   test_pxe_iso       the virtual-media ISO with the real xorriso and isolinux
#                      (skipped without them)
provisiond_unit_test(test_pxe_iso
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_pxe_iso.c LIBS pxe)
