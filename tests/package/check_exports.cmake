# cmake -P script (package.exports): the dynamic symbols LIBRARY defines are
# the public API's. A symbol fails if it is
#   - in a namespace that only lib/ declares (realtime::chat, ...::detail, ...),
#     that is, an internal type or function that REALTIME_EXPORT or a missing
#     -fvisibility=hidden let out, or
#   - outside namespace realtime and not the standard library's weak inline
#     code (so no fmt, RapidJSON, SQLite or libwebsockets code is exported
#     from our library).
find_program(NM nm REQUIRED)
execute_process(COMMAND ${NM} -DC --defined-only ${LIBRARY}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed on ${LIBRARY}: ${err}")
endif()

function(namespaces_in dir out_var)
  file(GLOB_RECURSE files ${dir}/*.h ${dir}/*.cpp)
  set(found "")
  foreach(f ${files})
    file(STRINGS ${f} lines REGEX "^namespace [A-Za-z_:]+ {")
    foreach(l ${lines})
      string(REGEX REPLACE "^namespace ([A-Za-z_:]+) {.*" "\\1" ns "${l}")
      if(NOT ns MATCHES "^realtime")
        set(ns "realtime::${ns}")  # a nested one, as in realtime { namespace detail {
      endif()
      list(APPEND found ${ns})
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES found)
  set(${out_var} ${found} PARENT_SCOPE)
endfunction()
namespaces_in(${SOURCE_DIR}/include/realtime public)
namespaces_in(${SOURCE_DIR}/lib internal)
list(REMOVE_ITEM internal ${public})
message("public namespaces: ${public}")
message("internal namespaces: ${internal}")

string(REPLACE "\n" ";" lines "${out}")
set(bad "")
set(count 0)
foreach(line ${lines})
  # "<address> <type> <demangled name>"; the name may contain spaces.
  if(NOT line MATCHES "^[0-9a-f]+ ([A-Za-z]) (.*)$")
    continue()
  endif()
  set(type "${CMAKE_MATCH_1}")
  set(sym "${CMAKE_MATCH_2}")
  math(EXPR count "${count} + 1")
  string(REGEX REPLACE "^((typeinfo name|typeinfo|vtable|VTT|guard variable|construction vtable) for |(non-)?virtual thunk to )+" "" name "${sym}")
  if(name MATCHES "^realtime::")
    foreach(ns ${internal})
      string(FIND "${name}" "${ns}::" at)
      if(at EQUAL 0)
        list(APPEND bad "internal: ${sym}")
        break()
      endif()
    endforeach()
  elseif(name MATCHES "^([a-z ]+ )?(std|__gnu_cxx)::" AND type MATCHES "^[WVuvw]$")
    # The standard library's own inline and template code (a shared_ptr's
    # control block, std::bad_variant_access's vtable) is emitted weak with
    # default visibility into every C++ library that uses it, by libstdc++'s
    # rules; the dynamic linker folds the copies into one.
  elseif(name MATCHES "^_(init|fini)$|^_edata$|^_end$|^__bss_start$")
  else()
    list(APPEND bad "foreign: ${sym}")
  endif()
endforeach()

if(count EQUAL 0)
  message(FATAL_ERROR "${LIBRARY} exports nothing: is it the shared library?")
endif()
list(LENGTH bad nbad)
if(nbad GREATER 0)
  list(JOIN bad "\n  " shown)
  message(FATAL_ERROR "${nbad} of ${count} exported symbols are not public API:\n  ${shown}")
endif()
message("${count} exported symbols, all public API")
