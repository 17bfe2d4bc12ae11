# High availability of the database: provisiond on a Patroni cluster that
# tests/ha/patroni_fixture.sh starts (etcd and two PostgreSQL members on
# loopback, synchronous replication), the primary killed under load.
#   ctest -L ha
if(WITH_POSTGRES)
  provisiond_daemon_exe(ha_failover ${CMAKE_CURRENT_LIST_DIR}/ha_failover.c)
  add_test(NAME ha_failover COMMAND ${CMAKE_CURRENT_LIST_DIR}/patroni_fixture.sh
    $<TARGET_FILE:ha_failover>)
  # alone: Patroni's timings (ttl 10 s) need the CPU the other tests would take
  set_tests_properties(ha_failover PROPERTIES LABELS "postgres;ha" TIMEOUT 180
    SKIP_RETURN_CODE 77 RUN_SERIAL TRUE
    ENVIRONMENT "PROVISIOND_SOURCE_DIR=${CMAKE_SOURCE_DIR};PROVISIOND_BINARY_DIR=${CMAKE_BINARY_DIR}")
endif()
