# The web console (/ui/) in a real browser: Debian's Chromium driven by
# playwright-core from tests/browser/package-lock.json (no browser download),
# against the real daemon on fake hardware. Screenshots of every view are
# kept in build/browser-artifacts/.
#   ctest -L browser
set(_br ${CMAKE_SOURCE_DIR}/tests/browser)
add_test(NAME browser_console
  COMMAND ${_br}/run node --test --test-reporter=tap --test-concurrency=1 ${_br}/console.test.mjs)
set_tests_properties(browser_console PROPERTIES LABELS "integration;browser" TIMEOUT 600
  ENVIRONMENT "PROVISIOND_BIN=$<TARGET_FILE:provisiond>;BROWSER_ARTIFACTS=${CMAKE_BINARY_DIR}/browser-artifacts")
