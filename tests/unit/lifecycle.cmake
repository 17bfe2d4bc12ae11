# engine_fixture.c: the inventory, fake BMC and catalog the three tests share.
# provisiond/lifecycle: lc_step and the deploy steps in process, on a
# temporary SQLite inventory, the fake BMC driver and the shipped catalog.
provisiond_unit_test(test_lifecycle
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_lifecycle.c ${CMAKE_CURRENT_LIST_DIR}/engine_fixture.c
  LIBS provisiond_core)
# The engine with its threads: waits that hold no thread, the per-rack cap,
# deadlines, a restart mid-onboarding.
provisiond_unit_test(test_engine
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_engine.c ${CMAKE_CURRENT_LIST_DIR}/engine_fixture.c
  LIBS provisiond_core)
# Warm pools with the engine's threads: the pool fills, refills after an
# allocation, rotates; allocations take warm machines first.
provisiond_unit_test(test_warm
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_warm.c ${CMAKE_CURRENT_LIST_DIR}/engine_fixture.c
  LIBS provisiond_core)
