# Install rules and the CMake package, so that a consumer does
#   find_package(realtime CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE realtime::realtime)
include(CMakePackageConfigHelpers)

get_property(components GLOBAL PROPERTY REALTIME_COMPONENTS)
if(BUILD_SHARED_LIBS)
  set(components "")  # their objects are inside librealtime.so
endif()
install(TARGETS realtime ${components}
  EXPORT realtimeTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/realtime DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT realtimeTargets
  NAMESPACE realtime::
  FILE realtimeTargets.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/realtime)

set(REALTIME_HAS_LWS OFF)
set(REALTIME_HAS_SQLITE OFF)
set(REALTIME_HAS_POSTGRES OFF)
set(REALTIME_HAS_REDIS OFF)
set(REALTIME_HAS_MSGPACK OFF)
if(TARGET realtime_transport_lws)
  set(REALTIME_HAS_LWS ON)
endif()
if(TARGET realtime_store_sqlite)
  set(REALTIME_HAS_SQLITE ON)
endif()
if(TARGET realtime_store_postgres)
  set(REALTIME_HAS_POSTGRES ON)
endif()
if(TARGET realtime_bus_redis)
  set(REALTIME_HAS_REDIS ON)
endif()
if(TARGET realtime_protocol_emitter)
  set(REALTIME_HAS_MSGPACK ON)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/realtimeConfig.cmake.in
  ${PROJECT_BINARY_DIR}/realtimeConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/realtime)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/realtimeConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/realtimeConfig.cmake ${PROJECT_BINARY_DIR}/realtimeConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/realtime)
