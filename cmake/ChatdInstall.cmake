# chatd's install rules (install component "chatd") and its Debian package.
# Included by apps/chatd/CMakeLists.txt when REALTIME_INSTALL is on; the
# library's own rules (RealtimeInstall.cmake) are untouched by this.
#
#   cmake --install build            # everything, library included
#   cmake --install build --component chatd
#   cpack --config build/CPackConfig.cmake -G DEB   # chatd_<version>_<arch>.deb
#
# Installed: bin/chatd, share/man/man1/chatd.1, lib/systemd/system/
# chatd.service, and in sysconfdir/chatd (/etc/chatd for the /usr prefix)
# chatd.conf.example (every option) and chatd.conf (only when absent, so a
# reinstall keeps an operator's file). The man page and the example are made
# from `chatd --help` at build time (cmake/chatd_docs.cmake).
set(CHATD_DIST ${PROJECT_SOURCE_DIR}/dist)
set(CHATD_GEN ${CMAKE_CURRENT_BINARY_DIR}/dist)

add_custom_command(
  OUTPUT ${CHATD_GEN}/chatd.1 ${CHATD_GEN}/chatd.conf.example
  COMMAND ${CMAKE_COMMAND} -DCHATD=$<TARGET_FILE:chatd> -DSOURCE_DIR=${CHATD_DIST}
          -DMAN_OUT=${CHATD_GEN}/chatd.1 -DCONF_OUT=${CHATD_GEN}/chatd.conf.example
          -DVERSION=${PROJECT_VERSION} -P ${PROJECT_SOURCE_DIR}/cmake/chatd_docs.cmake
  DEPENDS chatd ${PROJECT_SOURCE_DIR}/cmake/chatd_docs.cmake ${CHATD_DIST}/chatd.1.in
          ${CHATD_DIST}/chatd.conf.example.in
  COMMENT "chatd.1 and chatd.conf.example from chatd --help"
  VERBATIM)
add_custom_target(chatd_docs ALL DEPENDS ${CHATD_GEN}/chatd.1 ${CHATD_GEN}/chatd.conf.example)

install(TARGETS chatd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT chatd)
install(FILES ${CHATD_GEN}/chatd.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT chatd)
# The unit names absolute paths that depend on the prefix given at install
# time (cmake --install --prefix, or CPack's /usr), so it is made then.
install(CODE "
  set(CHATD_DIST \"${CHATD_DIST}\")
  set(CHATD_GEN \"${CHATD_GEN}\")
  set(CHATD_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  set(CHATD_SYSCONFDIR \"${CMAKE_INSTALL_SYSCONFDIR}\")
  include(\"${PROJECT_SOURCE_DIR}/cmake/chatd_install_files.cmake\")
  " COMPONENT chatd)

# The .deb: chatd alone, for the /usr prefix, Depends from dpkg-shlibdeps.
# A shared build's chatd needs librealtime.so, which no Debian package
# provides: the package is made from static builds only.
if(BUILD_SHARED_LIBS)
  message(STATUS "chatd .deb: made from static builds only (BUILD_SHARED_LIBS is on)")
  return()
endif()
set(CPACK_PACKAGE_NAME chatd)
set(CPACK_PACKAGE_VENDOR "librealtime")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "librealtime maintainers <maintainers@librealtime.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Real-time chat and call signalling server (Socket.IO compatible)")
set(CPACK_PACKAGE_DESCRIPTION "chatd serves stock socket.io clients: rooms, presence, stored history, \
attachments and WebRTC call signalling, with a REST API and metrics. Messages are kept in SQLite or \
PostgreSQL. A hardened systemd unit is installed, enabled and started.")
set(CPACK_GENERATOR DEB)
# Absolute destinations (/etc/chatd) need DESTDIR-style staging, and the
# unit's paths need the real prefix at install time.
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_COMPONENTS_ALL chatd)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CHATD_DIST}/debian/postinst ${CHATD_DIST}/debian/prerm ${CHATD_DIST}/debian/postrm
  ${CHATD_DIST}/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
