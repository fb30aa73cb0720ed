# Checks that scripts/install-deps.sh installs everything the build and the
# tests use from outside the repository, so a fresh machine that runs the
# README's commands has all of it (chromium once fell out of the list and a
# machine that already had it kept CI green).
#
# What "everything" is, read from this build rather than from a list kept by
# hand:
#   - every file CMake looked up (FILEPATH entries of CMakeCache.txt:
#     compilers, find_program, find_library, pkg-config results);
#   - every absolute path a registered test runs or is given in its
#     environment (ctest --show-only=json-v1); a test that needs a program
#     finds it with find_program and passes it that way;
#   - every shared library the project's programs load (ldd).
# Each file must come from a Debian package (dpkg -S) that install-deps.sh
# names or that one of those depends on (apt-cache depends --recurse), or
# from an essential package. npm packages: every package-lock.json in the
# repository must be installed (npm ls).
#
#   cmake -DSOURCE_DIR=... -DBUILD_DIR=... -DCTEST=... -DNPM=... -P check_deps.cmake
cmake_minimum_required(VERSION 3.25)

set(problems "")
macro(problem text)
  string(APPEND problems "  - ${text}\n")
endmacro()

function(outside_project path out)
  cmake_path(IS_PREFIX SOURCE_DIR "${path}" NORMALIZE in_source)
  cmake_path(IS_PREFIX BUILD_DIR "${path}" NORMALIZE in_build)
  if(in_source OR in_build)
    set(${out} FALSE PARENT_SCOPE)
  else()
    set(${out} TRUE PARENT_SCOPE)
  endif()
endfunction()

# --- what the build looked up
set(files "")
set(programs "")
file(STRINGS "${BUILD_DIR}/CMakeCache.txt" cache REGEX "^[A-Za-z0-9_]+:FILEPATH=/")
foreach(line IN LISTS cache)
  string(REGEX REPLACE "^[^=]*=" "" path "${line}")
  outside_project("${path}" outside)
  if(outside AND EXISTS "${path}" AND NOT IS_DIRECTORY "${path}")
    list(APPEND files "${path}")
  endif()
endforeach()

# --- what the tests run and are given
execute_process(COMMAND "${CTEST}" --show-only=json-v1 WORKING_DIRECTORY "${BUILD_DIR}"
  OUTPUT_VARIABLE json RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ctest --show-only=json-v1 failed")
endif()
string(JSON ntests LENGTH "${json}" tests)
math(EXPR last "${ntests} - 1")
foreach(i RANGE ${last})
  # Each query parses the text it is given: one of the whole list per test,
  # then the test's own entry.
  string(JSON t GET "${json}" tests ${i})
  string(JSON name GET "${t}" name)
  set(paths "")
  string(JSON has_cmd ERROR_VARIABLE no_cmd GET "${t}" command)
  if(NOT no_cmd)
    string(JSON cmd0 GET "${t}" command 0)
    list(APPEND paths "${cmd0}")
  endif()
  string(JSON nprops ERROR_VARIABLE no_props LENGTH "${t}" properties)
  if(NOT no_props AND nprops GREATER 0)
    math(EXPR plast "${nprops} - 1")
    foreach(p RANGE ${plast})
      string(JSON pname GET "${t}" properties ${p} name)
      if(pname STREQUAL "ENVIRONMENT")
        string(JSON nenv LENGTH "${t}" properties ${p} value)
        math(EXPR elast "${nenv} - 1")
        foreach(e RANGE ${elast})
          string(JSON kv GET "${t}" properties ${p} value ${e})
          string(REGEX REPLACE "^[^=]*=" "" v "${kv}")
          if(v MATCHES "^/[^;]*$")
            list(APPEND paths "${v}")
          endif()
        endforeach()
      endif()
    endforeach()
  endif()
  foreach(path IN LISTS paths)
    outside_project("${path}" outside)
    if(NOT outside)
      if(EXISTS "${path}" AND NOT IS_DIRECTORY "${path}")
        list(APPEND programs "${path}")  # the project's own binary: ldd it below
      endif()
      continue()
    endif()
    if(NOT EXISTS "${path}")
      problem("${name} needs ${path}, which is missing")
    elseif(NOT IS_DIRECTORY "${path}")
      list(APPEND files "${path}")
    endif()
  endforeach()
endforeach()

# --- the shared libraries the project's programs load
list(REMOVE_DUPLICATES programs)
foreach(program IN LISTS programs)
  execute_process(COMMAND ldd "${program}" OUTPUT_VARIABLE out RESULT_VARIABLE rc ERROR_QUIET)
  if(NOT rc EQUAL 0)
    continue()  # a script, not an ELF file
  endif()
  string(REGEX MATCHALL "=> /[^ ]+" libs "${out}")
  foreach(lib IN LISTS libs)
    string(SUBSTRING "${lib}" 3 -1 lib)
    outside_project("${lib}" outside)
    if(outside)  # not librealtime.so of a shared build
      list(APPEND files "${lib}")
    endif()
  endforeach()
endforeach()
list(REMOVE_DUPLICATES files)

# --- the Debian packages install-deps.sh brings, with their dependencies
execute_process(COMMAND "${SOURCE_DIR}/scripts/install-deps.sh" --list
  OUTPUT_VARIABLE named RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "scripts/install-deps.sh --list failed")
endif()
string(REPLACE "\n" ";" named "${named}")
list(FILTER named EXCLUDE REGEX "^$")
execute_process(COMMAND apt-cache depends --recurse --installed --no-recommends --no-suggests
    --no-conflicts --no-breaks --no-replaces --no-enhances ${named}
  OUTPUT_VARIABLE closure_text RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "apt-cache depends failed")
endif()
string(REGEX MATCHALL "(^|\n)[^ \n<][^\n]*" closure "${closure_text}")
list(TRANSFORM closure STRIP)
list(TRANSFORM closure REPLACE ":[a-z0-9]+$" "")
execute_process(COMMAND dpkg-query -W -f=\${Package}\ \${Essential}\ \${Priority}\\n
  OUTPUT_VARIABLE essentials_text)
string(REGEX MATCHALL "[^\n]+ (yes [^\n]*|[^ \n]+ required)" essentials "${essentials_text}")
list(TRANSFORM essentials REPLACE " .*" "")
list(APPEND closure ${essentials})

# --- every file's package must be among them. One dpkg -S for all the
# files (one each would cost a third of a second apiece), then one for the
# real paths of those it does not know (a file reached through a symlink).
# Its lines are "pkg1, pkg2:amd64: /path"; "diversion by dash from: /bin/sh"
# lines name no package.
macro(read_owners text)
  string(REPLACE "\n" ";" owner_lines "${text}")
  foreach(line IN LISTS owner_lines)
    if(line MATCHES "^diversion by " OR NOT line MATCHES "^(.+): (/.*)$")
      continue()
    endif()
    set(pkgs "${CMAKE_MATCH_1}")
    string(MD5 key "${CMAKE_MATCH_2}")
    string(REPLACE ", " ";" pkgs "${pkgs}")
    list(TRANSFORM pkgs REPLACE ":[a-z0-9]+$" "")
    list(APPEND owners_${key} ${pkgs})
  endforeach()
endmacro()
if(files)
  execute_process(COMMAND dpkg -S ${files} OUTPUT_VARIABLE owned ERROR_QUIET)
  read_owners("${owned}")
endif()
# lookup_<path's key>: the key its owners are read under (its real path's
# for a file dpkg knew only by that).
set(reals "")
foreach(path IN LISTS files)
  string(MD5 key "${path}")
  set(lookup_${key} ${key})
  if(NOT DEFINED owners_${key})
    file(REAL_PATH "${path}" real)
    list(APPEND reals "${real}")
    string(MD5 lookup_${key} "${real}")
  endif()
endforeach()
if(reals)
  execute_process(COMMAND dpkg -S ${reals} OUTPUT_VARIABLE owned ERROR_QUIET)
  read_owners("${owned}")
endif()
foreach(path IN LISTS files)
  string(MD5 key "${path}")
  set(key ${lookup_${key}})
  if(NOT DEFINED owners_${key})
    problem("${path} comes from no Debian package (installed by hand?)")
    continue()
  endif()
  set(found FALSE)
  foreach(o IN LISTS owners_${key})
    if(o IN_LIST closure)
      set(found TRUE)
    endif()
  endforeach()
  if(NOT found)
    problem("${path} is from ${owners_${key}}, which scripts/install-deps.sh does not install")
  endif()
endforeach()
list(LENGTH files nfiles)

# --- npm packages, per lock file
execute_process(COMMAND git -C "${SOURCE_DIR}" ls-files "*package-lock.json"
  OUTPUT_VARIABLE locks RESULT_VARIABLE rc ERROR_QUIET)
if(NOT rc EQUAL 0)
  file(GLOB_RECURSE locks RELATIVE "${SOURCE_DIR}" "${SOURCE_DIR}/*/package-lock.json")
  list(FILTER locks EXCLUDE REGEX "node_modules|^build")
else()
  string(REPLACE "\n" ";" locks "${locks}")
  list(FILTER locks EXCLUDE REGEX "^$")
endif()
foreach(lock IN LISTS locks)
  cmake_path(GET lock PARENT_PATH dir)
  execute_process(COMMAND "${NPM}" ls --depth=0 WORKING_DIRECTORY "${SOURCE_DIR}/${dir}"
    RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(NOT rc EQUAL 0)
    problem("npm packages of ${dir}/package-lock.json are not installed (npm ci there)")
  endif()
endforeach()
list(LENGTH locks nlocks)

if(problems)
  message(FATAL_ERROR "dependencies not installed by scripts/install-deps.sh:\n${problems}")
endif()
message(STATUS "deps: ${nfiles} files from Debian packages that install-deps.sh installs; ${nlocks} npm lock files installed")
