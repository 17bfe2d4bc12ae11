# The OpenAPI document docs/openapi.yaml (tests/openapi, npm packages that
# scripts/deps installs):
#   openapi_document  it is exactly what provisiond serves (scripts/openapi
#                     writes it again)
#   openapi_lint      Redocly CLI's recommended rules, warnings as errors
#   openapi_checker   the answer checker takes good answers, refuses bad ones
#   openapi_responses every answer the harness tests received (api_*) is one
#                     the document describes. They record their answers
#                     while the fixture openapi_capture is on: its setup
#                     empties the record, its cleanup (this test) runs after
#                     the last of them, also under ctest -j or -R api_x.
set(_oa ${CMAKE_SOURCE_DIR}/tests/openapi)
set(_oa_doc ${CMAKE_SOURCE_DIR}/docs/openapi.yaml)
set(_oa_capture ${CMAKE_BINARY_DIR}/openapi-capture)

add_test(NAME openapi_document
  COMMAND ${_oa}/run node ${_oa}/check-document.mjs ${_oa_doc} $<TARGET_FILE:provisiond>)
add_test(NAME openapi_lint
  COMMAND ${_oa}/run redocly lint --config ${_oa}/redocly.yaml ${_oa_doc})
add_test(NAME openapi_checker COMMAND ${_oa}/run node ${_oa}/selftest.mjs ${_oa_doc})
set_tests_properties(openapi_document openapi_lint openapi_checker PROPERTIES
  LABELS "unit;openapi" TIMEOUT 120)

add_test(NAME openapi_capture_reset
  COMMAND sh -c "rm -rf '${_oa_capture}' && mkdir -p '${_oa_capture}'")
add_test(NAME openapi_responses
  COMMAND ${_oa}/run node ${_oa}/check-responses.mjs ${_oa_doc} ${_oa_capture})
set_tests_properties(openapi_capture_reset PROPERTIES
  LABELS "integration;openapi" FIXTURES_SETUP openapi_capture)
set_tests_properties(openapi_responses PROPERTIES
  LABELS "integration;openapi" TIMEOUT 300 FIXTURES_CLEANUP openapi_capture)

# Every test built with the integration harness records its answers.
get_property(_oa_tests DIRECTORY PROPERTY TESTS)
foreach(t ${_oa_tests})
  if(TARGET ${t})
    get_target_property(_oa_src ${t} SOURCES)
    if("${_oa_src}" MATCHES "integration/harness\\.c")
      set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT "PROVISIOND_API_CAPTURE=${_oa_capture}")
      set_property(TEST ${t} APPEND PROPERTY FIXTURES_REQUIRED openapi_capture)
    endif()
  endif()
endforeach()
