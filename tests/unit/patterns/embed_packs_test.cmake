# ctest: embed_rules.cmake in PACKS mode embeds every .yml/.yaml under a packs folder, in name
# order, byte for byte, named relative to the folder's parent; no folder embeds nothing.
# cmake -DEMBED=embed_rules.cmake -DWORK=dir -P embed_packs_test.cmake
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/packs/b" "${WORK}/packs/a")
file(WRITE "${WORK}/packs/b/z.yml" "title: z\n")
file(WRITE "${WORK}/packs/a/y.yaml" "title: \"y;\\\\\"\n")
file(WRITE "${WORK}/packs/a/notes.txt" "not a rule\n")
execute_process(COMMAND ${CMAKE_COMMAND} -DPACKS_DIR=${WORK}/packs -DOUT=${WORK}/out.c
                -P ${EMBED} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "embed_rules.cmake failed: ${rc}")
endif()
file(READ "${WORK}/out.c" c)
string(FIND "${c}" "{\"packs/a/y.yaml\", pack_0, 14}" at_y)
string(FIND "${c}" "{\"packs/b/z.yml\", pack_1, 9}" at_z)
string(FIND "${c}" "pat_default_n_packs = 2;" at_n)
string(FIND "${c}" "notes.txt" at_txt)
# "title: z\n" as bytes
string(FIND "${c}" "0x74,0x69,0x74,0x6c,0x65,0x3a,0x20,0x7a,0x0a,0x00" at_bytes)
if(at_y EQUAL -1 OR at_z EQUAL -1 OR at_n EQUAL -1 OR NOT at_txt EQUAL -1 OR at_bytes EQUAL -1
   OR at_z LESS at_y)
  message(FATAL_ERROR "unexpected embedding:\n${c}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -DPACKS_DIR=${WORK}/none -DOUT=${WORK}/empty.c
                -P ${EMBED} RESULT_VARIABLE rc)
file(READ "${WORK}/empty.c" e)
string(FIND "${e}" "pat_default_n_packs = 0;" at_zero)
if(NOT rc EQUAL 0 OR at_zero EQUAL -1)
  message(FATAL_ERROR "a missing packs folder should embed nothing:\n${e}")
endif()
