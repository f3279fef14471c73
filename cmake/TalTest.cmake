# tal_add_test(NAME SOURCES a.cpp ... LINK target ... LABELS unit|golden|mpi [NP 2 4] [NO_TORCH])
# One ctest entry per binary (every LibTorch process costs ~0.8 s to start), labelled, linking only the targets it
# tests. With NP, the binary runs under mpirun once per rank count (its own main reduces the verdict over ranks).
function(tal_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LINK;LABELS;NP" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LINK} GTest::gtest GTest::gmock)
  if(NOT T_NP)
    target_link_libraries(${name} PRIVATE GTest::gtest_main)
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" ENVIRONMENT "${TAL_TEST_ENV}")
  else()
    foreach(np ${T_NP})
      add_test(NAME ${name}_np${np}
               COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} --allow-run-as-root --oversubscribe
                       $<TARGET_FILE:${name}>)
      set_tests_properties(${name}_np${np} PROPERTIES LABELS "${T_LABELS}" ENVIRONMENT "${TAL_TEST_ENV}"
                           PROCESSORS ${np})
    endforeach()
  endif()
endfunction()
