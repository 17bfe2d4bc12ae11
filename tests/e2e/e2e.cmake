# End-to-end test on the libvirt lab (lab/lab, tests/e2e/e2e.sh): two VMs
# through enroll -> available -> allocated/active -> released -> available.
# Needs root and the lab's packages (scripts/deps); otherwise skipped (77).
# RUN_SERIAL: TCG guests need both cores; nothing else runs beside it.
add_test(NAME e2e_lab COMMAND ${CMAKE_CURRENT_LIST_DIR}/e2e.sh)
set_tests_properties(e2e_lab PROPERTIES
  LABELS e2e
  TIMEOUT 1200
  RUN_SERIAL TRUE
  SKIP_RETURN_CODE 77
  ENVIRONMENT "PROVISIOND_SOURCE_DIR=${CMAKE_SOURCE_DIR};PROVISIOND_BINARY_DIR=${CMAKE_BINARY_DIR}")

# The Debian image end to end (tests/e2e/e2e-debian.sh): 2 allocations of one
# VM each deployed at once with the Debian 12 image, a config drive with an
# SSH key and user data, one with DHCP and one with a static address, logged
# into over SSH (address, default route, nameserver checked), released and
# wiped. Label debian to run it apart
# (ctest -L debian); the image build is cached in the build directory.
# Its image is built first by the fixture debian_image_build
# (tests/e2e/debian-image.sh), which needs no VM and so runs beside the other
# tests rather than in e2e_debian's serial slot; high COST starts it early.
add_test(NAME debian_image_build COMMAND ${CMAKE_CURRENT_LIST_DIR}/debian-image.sh)
set_tests_properties(debian_image_build PROPERTIES
  LABELS "e2e;debian"
  TIMEOUT 1200
  COST 1000
  FIXTURES_SETUP debian_image
  SKIP_RETURN_CODE 77
  ENVIRONMENT "PROVISIOND_SOURCE_DIR=${CMAKE_SOURCE_DIR};PROVISIOND_BINARY_DIR=${CMAKE_BINARY_DIR}")
add_test(NAME e2e_debian COMMAND ${CMAKE_CURRENT_LIST_DIR}/e2e-debian.sh)
set_tests_properties(e2e_debian PROPERTIES
  LABELS "e2e;debian"
  TIMEOUT 1200
  FIXTURES_REQUIRED debian_image
  RUN_SERIAL TRUE
  SKIP_RETURN_CODE 77
  ENVIRONMENT "PROVISIOND_SOURCE_DIR=${CMAKE_SOURCE_DIR};PROVISIOND_BINARY_DIR=${CMAKE_BINARY_DIR}")

# The lab on PostgreSQL with two replicas (tests/e2e/e2e-pg.sh): one VM
# deployed while the replica driving it is killed with SIGKILL; the other
# takes it over and the deploy completes. ctest -L postgres runs it too.
add_test(NAME e2e_lab_pg COMMAND ${CMAKE_CURRENT_LIST_DIR}/e2e-pg.sh)
set_tests_properties(e2e_lab_pg PROPERTIES
  LABELS "e2e;postgres"
  TIMEOUT 900
  RUN_SERIAL TRUE
  SKIP_RETURN_CODE 77
  ENVIRONMENT "PROVISIOND_SOURCE_DIR=${CMAKE_SOURCE_DIR};PROVISIOND_BINARY_DIR=${CMAKE_BINARY_DIR}")

# The short lab soak (tests/e2e/soak.sh): `lab soak` on its own lab of 2 VMs
# with ipmi_sim BMCs, 2 cycles of allocate -> ready -> release with two faults
# injected in each, each kind once (SOAK_CYCLES, SOAK_SEED); fails when a
# human action was needed or a cycle did not complete. 5-7 minutes under TCG
# on 2 cores shared with other work (the lab's start included).
add_test(NAME e2e_soak COMMAND ${CMAKE_CURRENT_LIST_DIR}/soak.sh)
set_tests_properties(e2e_soak PROPERTIES
  LABELS e2e
  TIMEOUT 900
  RUN_SERIAL TRUE
  SKIP_RETURN_CODE 77
  ENVIRONMENT "PROVISIOND_SOURCE_DIR=${CMAKE_SOURCE_DIR};PROVISIOND_BINARY_DIR=${CMAKE_BINARY_DIR}")
