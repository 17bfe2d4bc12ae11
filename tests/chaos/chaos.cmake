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
