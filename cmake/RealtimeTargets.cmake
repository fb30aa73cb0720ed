# Helpers that give every project target the same warnings, visibility and
# packaging. Components register themselves in REALTIME_COMPONENTS so the
# umbrella target realtime::realtime links whatever was built.
#
# Static build (the default): one static library per layer, realtime_<name>,
# and the layer graph is enforced by what each one links.
# Shared build (BUILD_SHARED_LIBS=ON): each layer compiles to an object
# library and lib/CMakeLists.txt links them all into one librealtime.so.
# One library, because layers call each other's internal functions, and
# those must stay hidden: only REALTIME_EXPORT symbols leave it. Tests and
# benchmarks that reach past the public API link realtime_internal, a static
# archive of the same objects, instead (realtime_add_program does the swap).

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
  if(BUILD_SHARED_LIBS)
    add_library(${target} OBJECT ${ARG_SOURCES})
  else()
    add_library(${target} STATIC ${ARG_SOURCES})
  endif()
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

# In a shared build, a target that names a layer (realtime::chat, ...) reaches
# past the public API, whose internals librealtime.so hides: it gets the
# static archive of the same objects instead, and then not the shared library
# as well (two copies of one object in one process). Targets that name only
# realtime::realtime (chatd, the examples, consumers) link the shared library.
function(realtime_internal_deps var)
  if(NOT BUILD_SHARED_LIBS)
    return()
  endif()
  set(deps ${${var}})
  set(layer "^realtime::(core|protocol(_[a-z]+)?|socketio|chat|store_[a-z]+|transport_[a-z]+|bus(_[a-z]+)?)$")
  list(FILTER deps INCLUDE REGEX "${layer}")
  if(deps)
    set(deps ${${var}})
    list(FILTER deps EXCLUDE REGEX "${layer}")
    list(REMOVE_ITEM deps realtime::realtime)
    list(APPEND deps realtime_internal)
    set(${var} ${deps} PARENT_SCOPE)
  endif()
endfunction()

# realtime_add_program(<name> SOURCES ... [DEPS ...]): an app, example, test or bench binary.
function(realtime_add_program name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  realtime_internal_deps(ARG_DEPS)
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
