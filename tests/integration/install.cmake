# install: the Debian packages (scripts/package) installed into a fresh
# Debian 12 root and run as the systemd unit says, the fake-hardware demo
# against it, the upgrade of the runbook (tests/integration/install/
# install-test.sh). Needs root; skipped (77) without it. It builds the
# ramdisk into the packages from the kernel package cached by
# images/ramdisk/build.sh, hence the ramdisk tests' lock. Not in the
# sanitizer build: the packages it tests are built without sanitizers
# anyway, so CI runs it once.
if(PROVISIOND_SANITIZE)
  return()
endif()
add_test(NAME install_deb
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/install/install-test.sh ${CMAKE_SOURCE_DIR}
          ${CMAKE_BINARY_DIR}/install-test)
set_tests_properties(install_deb PROPERTIES LABELS install TIMEOUT 900
  SKIP_RETURN_CODE 77 RESOURCE_LOCK provisiond_ramdisk_cache)
