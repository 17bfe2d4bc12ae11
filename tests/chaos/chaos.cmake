# Fault tests (docs/reliability.md): the real daemon under faults the test
# injects. Label chaos; each bounded in time.
#   ctest -L chaos
set(PROVISIOND_CHAOS_TESTS
  crash_loop     # 16 clients allocate and release while provisiond is kill -9ed 50 times;
                 # everything acknowledged survives, all settles, no double allocation
  storage_full)  # the database's filesystem fills mid-storm: fast 503s, reads work,
                 # /readyz says why, writes resume, nothing acknowledged lost

foreach(t ${PROVISIOND_CHAOS_TESTS})
  provisiond_daemon_test(${t} ${CMAKE_CURRENT_LIST_DIR}/${t}.c chaos)
endforeach()

# BMC faults on real ipmi_sim BMCs (a BMC killed mid-deploy, one that stops
# answering, a password changed on the BMC, a host that never powers on): each
# deploy completes on a substitute, the victim fails naming the cause, breakers
# open and close. Labels chaos and ipmi; skipped (77) without ipmi_sim/ipmi-config.
if(WITH_FREEIPMI)
  provisiond_daemon_test(bmc_faults ${CMAKE_CURRENT_LIST_DIR}/bmc_faults.c chaos)
  target_sources(bmc_faults PRIVATE ${CMAKE_SOURCE_DIR}/tests/integration/bmc/sim_harness.c)
  target_compile_definitions(bmc_faults PRIVATE
    BMC_SIM_SRC="${CMAKE_SOURCE_DIR}/tests/integration/bmc")
  set_tests_properties(bmc_faults PROPERTIES LABELS "chaos;ipmi" TIMEOUT 180
    SKIP_RETURN_CODE 77)
endif()

# Agent faults with the real provisiond-agent on loopback (regular files as
# disks, fake BMCs, pxe deploys): an agent stopped mid-write, a disk that
# returns EIO, a wrong image hash, a session reporting another machine's
# command -> each refused or timed out naming the cause, then retried or
# substituted from the pool.
add_test(NAME agent_faults
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/agent_faults.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
set_tests_properties(agent_faults PROPERTIES LABELS chaos TIMEOUT 180)

# The supervised dnsmasq after provisiond is killed: it goes with it, a
# restart runs exactly one, a stray of the same configuration is stopped.
add_test(NAME dnsmasq_orphan
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/dnsmasq_orphan.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
set_tests_properties(dnsmasq_orphan PROPERTIES LABELS chaos TIMEOUT 120 SKIP_RETURN_CODE 77)

# A drain under load: wrk opening a new connection per request to both
# listeners while provisiond gets SIGTERM, 8 times; each drain exits 0 and
# leaves both ports refusing. slow_epoll.so slows the draining thread's epoll
# calls so a race with the HTTP server's threads cannot hide.
add_library(slow_epoll SHARED ${CMAKE_CURRENT_LIST_DIR}/slow_epoll.c)
target_compile_options(slow_epoll PRIVATE -fno-sanitize=all)
target_link_options(slow_epoll PRIVATE -fno-sanitize=all)
target_link_libraries(slow_epoll PRIVATE dl)
add_test(NAME drain_load
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/drain_load.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR}
    $<TARGET_FILE:slow_epoll>)
set_tests_properties(drain_load PROPERTIES LABELS chaos TIMEOUT 120 SKIP_RETURN_CODE 77)
