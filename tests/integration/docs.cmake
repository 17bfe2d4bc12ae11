# The documentation against the code, and the operations runbook against the
# real daemon (tests/integration/docs/):
#   docs_drift       provisiond-docgen check: docs/config.md, provisionctl.md and
#                    the numbers the docs quote match the code; doctored copies fail
#   docs_man_pages   the generated man pages render without warnings
#   docs_completion  provisionctl's generated bash completion, driven as bash does
#   docs_install     cmake --install puts the pages and the completion where man and
#                    bash-completion's loader find them
#   docs_logs        request lines only at debug; numeric log fields are numbers
#   docs_runbook     every action of docs/operations.md's runbook, its commands
#                    taken from the document, against the real daemon and CLI
set(docs_tests_dir ${CMAKE_CURRENT_LIST_DIR}/docs)
add_test(NAME docs_drift
  COMMAND ${docs_tests_dir}/drift.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
add_test(NAME docs_man_pages COMMAND ${docs_tests_dir}/man_pages.sh ${CMAKE_BINARY_DIR})
add_test(NAME docs_completion COMMAND ${docs_tests_dir}/completion.sh ${CMAKE_BINARY_DIR})
add_test(NAME docs_install COMMAND ${docs_tests_dir}/install.sh ${CMAKE_BINARY_DIR})
add_test(NAME docs_logs COMMAND ${docs_tests_dir}/logs.sh ${CMAKE_BINARY_DIR})
set_tests_properties(docs_drift docs_man_pages docs_completion docs_install
  PROPERTIES LABELS unit TIMEOUT 120)
set_tests_properties(docs_logs PROPERTIES LABELS integration TIMEOUT 120)
add_test(NAME docs_runbook
  COMMAND ${docs_tests_dir}/runbook.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
set_tests_properties(docs_runbook PROPERTIES LABELS integration TIMEOUT 300)
