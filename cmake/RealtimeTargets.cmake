# Helpers that give every project target the same warnings, visibility and
# packaging. Components register themselves in REALTIME_COMPONENTS so the
# umbrella target realtime::realtime links whatever was built.

function(realtime_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
    -Wcast-qual -Wimplicit-fallthrough -Wformat=2 -Wmissing-declarations)
  if(REALTIME_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# realtime_add_component(<name> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Builds library realtime_<name>, exported as realtime::<name>.
function(realtime_add_component name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  set(target realtime_${name})
  add_library(${target} ${ARG_SOURCES})
  add_library(realtime::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES
    EXPORT_NAME ${name}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE ${PROJECT_SOURCE_DIR}/lib)
  target_compile_definitions(${target} PRIVATE REALTIME_BUILDING)
  if(NOT BUILD_SHARED_LIBS)
    target_compile_definitions(${target} PUBLIC REALTIME_STATIC)
  endif()
  target_link_libraries(${target} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  realtime_set_warnings(${target})
  set_property(GLOBAL APPEND PROPERTY REALTIME_COMPONENTS ${target})
endfunction()

# realtime_add_program(<name> SOURCES ... [DEPS ...]): an app, example, test or bench binary.
function(realtime_add_program name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  # Apps and examples see include/ only (the public API, through their DEPS),
  # which keeps chatd and the examples honest about what an embedder can do;
  # tests and benches may reach into lib/.
  if(NOT CMAKE_CURRENT_SOURCE_DIR MATCHES "^${PROJECT_SOURCE_DIR}/(apps|examples)(/|$)")
    target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/lib)
  endif()
  realtime_set_warnings(${name})
endfunction()
