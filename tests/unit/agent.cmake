# Deploy agent (images/agent): everything that needs no real provisiond.
# test_agent: cmdline, facts from fixture sysroots, write_image from file://,
# wipe, metadata, backoff. test_agent_flow: the whole protocol conversation
# against an in-process fake boot listener on 127.0.0.1 (libmicrohttpd).
if(TARGET agentcore)
  provisiond_unit_test(test_agent
    SOURCES
      ${CMAKE_CURRENT_LIST_DIR}/test_agent.c
      ${CMAKE_CURRENT_LIST_DIR}/test_agent_cmdline.c
      ${CMAKE_CURRENT_LIST_DIR}/test_agent_facts.c
      ${CMAKE_CURRENT_LIST_DIR}/test_agent_image.c
      ${CMAKE_CURRENT_LIST_DIR}/test_agent_wipe.c
      ${CMAKE_CURRENT_LIST_DIR}/test_agent_configdrive.c
      ${CMAKE_CURRENT_LIST_DIR}/test_agent_util.c
    LIBS agentcore)
  target_compile_definitions(test_agent PRIVATE
    AGENT_FIXTURES="${CMAKE_CURRENT_LIST_DIR}/agent_fixtures")

  provisiond_unit_test(test_agent_flow
    SOURCES
      ${CMAKE_CURRENT_LIST_DIR}/test_agent_flow.c
      ${CMAKE_CURRENT_LIST_DIR}/test_agent_fakesrv.c
      ${CMAKE_CURRENT_LIST_DIR}/test_agent_util.c
    LIBS agentcore PkgConfig::MHD)
  target_compile_definitions(test_agent_flow PRIVATE
    AGENT_FIXTURES="${CMAKE_CURRENT_LIST_DIR}/agent_fixtures")
endif()

# Not a test by itself: the fake boot listener as a program, used by the QEMU
# boot test in tests/integration/ramdisk.cmake.
if(TARGET agentcore)
  add_executable(test_agent_serve
    ${CMAKE_CURRENT_LIST_DIR}/test_agent_serve.c
    ${CMAKE_CURRENT_LIST_DIR}/test_agent_fakesrv.c
    ${CMAKE_CURRENT_LIST_DIR}/test_agent_util.c)
  target_link_libraries(test_agent_serve PRIVATE PkgConfig::JANSSON PkgConfig::MHD
    PkgConfig::CRYPTO Threads::Threads)
endif()
