# Install-time part of chatd's install rules (ChatdInstall.cmake passes
# CHATD_DIST, CHATD_GEN, CHATD_BINDIR, CHATD_SYSCONFDIR): the systemd unit
# with the paths of this install, the example config and, when there is
# none yet, chatd.conf. Runs inside cmake_install.cmake, so
# CMAKE_INSTALL_PREFIX is the prefix of this install and file(INSTALL)
# honours DESTDIR.
if(IS_ABSOLUTE "${CHATD_BINDIR}")
  set(bindir "${CHATD_BINDIR}")
else()
  set(bindir "${CMAKE_INSTALL_PREFIX}/${CHATD_BINDIR}")
endif()
# GNUInstallDirs' rule: the /usr prefix keeps its configuration in /etc.
if(IS_ABSOLUTE "${CHATD_SYSCONFDIR}")
  set(etc "${CHATD_SYSCONFDIR}")
elseif(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(etc "/etc")
else()
  set(etc "${CMAKE_INSTALL_PREFIX}/${CHATD_SYSCONFDIR}")
endif()

set(CHATD_BIN "${bindir}/chatd")
set(CHATD_CONF_FILE "${etc}/chatd/chatd.conf")
set(CHATD_ENV_FILE "${etc}/chatd/chatd.env")
configure_file("${CHATD_DIST}/chatd.service.in" "${CHATD_GEN}/install/chatd.service" @ONLY)
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" TYPE FILE
     FILES "${CHATD_GEN}/install/chatd.service")
file(INSTALL DESTINATION "${etc}/chatd" TYPE FILE FILES "${CHATD_GEN}/chatd.conf.example")
if(EXISTS "$ENV{DESTDIR}${CHATD_CONF_FILE}")
  message(STATUS "Keeping: $ENV{DESTDIR}${CHATD_CONF_FILE}")
else()
  file(INSTALL DESTINATION "${etc}/chatd" TYPE FILE FILES "${CHATD_DIST}/chatd.conf")
endif()
