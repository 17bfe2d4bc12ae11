# provisiond/client: provclient library and provisionctl CLI.
#   test_client  URL encoding, error bodies, argument parsing, config
#                precedence, table rendering, and the library + CLI against
#                a loopback HTTP responder started inside the test.
if(TARGET provctl)
  provisiond_unit_test(test_client
    SOURCES
      ${CMAKE_CURRENT_LIST_DIR}/test_client.c
      ${CMAKE_CURRENT_LIST_DIR}/test_client_srv.c
      ${CMAKE_CURRENT_LIST_DIR}/test_client_encode.c
      ${CMAKE_CURRENT_LIST_DIR}/test_client_table.c
      ${CMAKE_CURRENT_LIST_DIR}/test_client_http.c
      ${CMAKE_CURRENT_LIST_DIR}/test_client_cli.c
      ${CMAKE_CURRENT_LIST_DIR}/test_client_views.c
    LIBS provctl provclient)
  target_include_directories(test_client PRIVATE ${CMAKE_CURRENT_LIST_DIR})
endif()
