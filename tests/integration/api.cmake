# Integration tests of the control plane: the real provisiond binary on a
# temporary SQLite file (and, the *_pg twins, on PostgreSQL), driven over
# loopback HTTP (and provisionctl).
#   ctest -L integration -R api
set(PROVISIOND_IT_TESTS
  api_lifecycle   # 50 machines enrolled -> available with their events; release ->
                  # available; PATCHes while the engine works
  api_alloc       # gang allocation, capacity, quota, idempotency, long-poll, min_count,
                  # 16 concurrent clients, substitution, pool exhaustion, failed cleaning
  api_network     # static addresses: stored and returned, the 409 for an address in use,
                  # a substitute keeping the address, release freeing it
  api_spread      # gangs spread across racks and sites: strict, best effort, the 409
                  # counting racks, substitutes keeping the spread, racing gangs, restart
  api_crash       # kill -9 in the middle of deploys, restart, convergence; restart
                  # settles allocations left between two commits
  api_auth        # every route x every role, other owners answer 404, boot-plane tokens
  api_input       # bad inputs -> 4xx naming the field, DB unchanged; BMC password
  api_cli         # provisionctl against the real daemon
  api_hygiene     # query-argument and header floods, idle sockets, slow requests
  api_trust       # discovery floods and expiry, machine deletion
  api_longpoll    # 1,000 agent command long-polls parked without threads
  api_secrets     # no BMC password in clear in the database, its WAL or a backup; key file
  api_metrics     # /metrics passes promtool and our lint; alert rules and their tests;
                  # the Grafana dashboard names only metrics that exist
  api_rollout     # staged image rollouts: waves, the halt, cancel, kill -9 mid-rollout
  api_warm        # warm pools: the warm machine, capacity and metric, warm-first
                  # allocation, refill
  api_admission   # per-token rate 429, in-flight 503, freeze 503 says who and why, deploy cap
  api_console     # the web console's files, whoami, the event stream (auth, a service's
                  # own view, max_streams, drain), open BMC breakers
  api_agent)      # the boot plane's protocol spoken by the test (inspect, wipe, deploy,
                  # booted; a rollout's reimage waiting for booted), so openapi_responses
                  # checks those answers too

foreach(t ${PROVISIOND_IT_TESTS})
  provisiond_daemon_test(${t} ${CMAKE_CURRENT_LIST_DIR}/${t}.c integration)
endforeach()

# The same daemon on PostgreSQL (tests/pg_fixture.sh starts the server,
# the harness gives each daemon a schema): every test above but the three
# whose checks read SQLite files (api_input's table dumps, api_secrets'
# database file and WAL, api_images' refusal of the database file).
set(PROVISIOND_IT_PG_TESTS api_lifecycle api_alloc api_network api_spread api_crash api_auth api_cli
  api_hygiene api_trust api_longpoll api_metrics api_admission api_console api_agent
  api_rollout)
if(WITH_POSTGRES)
  foreach(t ${PROVISIOND_IT_PG_TESTS})
    add_test(NAME ${t}_pg COMMAND ${CMAKE_SOURCE_DIR}/tests/pg_fixture.sh $<TARGET_FILE:${t}>)
    set_tests_properties(${t}_pg PROPERTIES LABELS "integration;postgres;pgtwin" TIMEOUT 600
      SKIP_RETURN_CODE 77
      ENVIRONMENT "PROVISIOND_SOURCE_DIR=${CMAKE_SOURCE_DIR};PROVISIOND_BINARY_DIR=${CMAKE_BINARY_DIR}")
  endforeach()
endif()

# PostgreSQL only: the daemon follows its server through a restart and an
# outage (pg_fixture.sh's PG_FIXTURE_CTL restarts it).
if(WITH_POSTGRES)
  provisiond_daemon_exe(api_pg_restart ${CMAKE_CURRENT_LIST_DIR}/api_pg_restart.c)
  add_test(NAME api_pg_restart COMMAND ${CMAKE_SOURCE_DIR}/tests/pg_fixture.sh
    $<TARGET_FILE:api_pg_restart>)
  set_tests_properties(api_pg_restart PROPERTIES LABELS "integration;postgres" TIMEOUT 300
    SKIP_RETURN_CODE 77
    ENVIRONMENT "PROVISIOND_SOURCE_DIR=${CMAKE_SOURCE_DIR};PROVISIOND_BINARY_DIR=${CMAKE_BINARY_DIR}")
endif()

# Three replicas on one PostgreSQL database: racing gangs, kill -9 and
# SIGSTOP of the replica driving deploys (take-over, fencing). Only on
# PostgreSQL (several processes on one SQLite file are not replicas).
if(WITH_POSTGRES)
  provisiond_daemon_exe(api_replicas ${CMAKE_CURRENT_LIST_DIR}/api_replicas.c)
  add_test(NAME api_replicas_pg COMMAND ${CMAKE_SOURCE_DIR}/tests/pg_fixture.sh
    $<TARGET_FILE:api_replicas>)
  set_tests_properties(api_replicas_pg PROPERTIES LABELS "integration;postgres;replicas"
    TIMEOUT 600 SKIP_RETURN_CODE 77
    ENVIRONMENT "PROVISIOND_SOURCE_DIR=${CMAKE_SOURCE_DIR};PROVISIOND_BINARY_DIR=${CMAKE_BINARY_DIR}")
endif()
