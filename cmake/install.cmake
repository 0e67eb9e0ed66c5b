# Install rules of the operators' kit. `cmake --install build [--prefix P]` (DESTDIR honoured)
# puts:
#   P/bin/                    connect-server, game-server (their own CMakeLists), muwarden-probe
#   ETC/muwarden/             connect-server.ini, game-server.ini from config/, only when absent:
#                             an operator's edited file is never overwritten
#   ETC/fail2ban/filter.d/    muwarden.conf, always (it follows this build's log lines)
#   ETC/fail2ban/jail.d/      muwarden.local, only when absent
#   P/lib/systemd/system/     muwarden-connect.service, muwarden-game.service, naming P/bin and
#                             ETC/muwarden
#   P/lib/sysusers.d/         muwarden.conf (the muwarden user; apply with systemd-sysusers)
#   P/share/doc/muwarden/     SECURITY.md and every shipped example as is
# where ETC is /etc for the prefixes /usr and /usr/local (where fail2ban and operators look),
# and P/etc for any other prefix. Paths are worked out at install time, so --prefix works.
# Included from the top-level CMakeLists.txt after the targets are defined.
include(GNUInstallDirs)

set(MUWARDEN_STATE_DIR "/var/lib/muwarden" CACHE PATH
    "ban files and account database in the installed units (their StateDirectory)")
set(MUWARDEN_LOG_DIR "/var/log/muwarden" CACHE PATH
    "log files in the installed units and jail (their LogsDirectory)")

set(_mw_doc_dir "${CMAKE_INSTALL_DATADIR}/doc/muwarden")

if(TARGET muwarden-probe)
  install(TARGETS muwarden-probe RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# Shipped as they are, for reference.
file(GLOB _mw_examples CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/config/*.ini"
     "${PROJECT_SOURCE_DIR}/config/*.txt")
install(FILES ${_mw_examples} DESTINATION ${_mw_doc_dir}/examples)
install(DIRECTORY "${PROJECT_SOURCE_DIR}/config/fail2ban/" DESTINATION ${_mw_doc_dir}/fail2ban)
install(DIRECTORY "${PROJECT_SOURCE_DIR}/config/systemd/" DESTINATION ${_mw_doc_dir}/systemd)
install(FILES "${PROJECT_SOURCE_DIR}/SECURITY.md" DESTINATION ${_mw_doc_dir} OPTIONAL)
install(FILES "${PROJECT_SOURCE_DIR}/config/systemd/muwarden.sysusers"
        DESTINATION lib/sysusers.d RENAME muwarden.conf)

# Everything below depends on the prefix given at install time.
file(GLOB _mw_inis CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/config/*.ini")
install(CODE "
  set(_src \"${PROJECT_SOURCE_DIR}/config\")
  set(_prefix \"\${CMAKE_INSTALL_PREFIX}\")
  if(_prefix STREQUAL \"/usr\" OR _prefix STREQUAL \"/usr/local\")
    set(_etc \"/etc\")
  else()
    set(_etc \"\${_prefix}/etc\")
  endif()
  set(_root \"\$ENV{DESTDIR}\")

  # Copies a file unless its destination exists (an operator's edit).
  function(_mw_install_if_absent file dir name)
    if(EXISTS \"\${dir}/\${name}\")
      message(STATUS \"Kept (exists): \${dir}/\${name}\")
    else()
      message(STATUS \"Installing: \${dir}/\${name}\")
      file(MAKE_DIRECTORY \"\${dir}\")
      configure_file(\"\${file}\" \"\${dir}/\${name}\" COPYONLY)
    endif()
  endfunction()

  foreach(ini ${_mw_inis})
    get_filename_component(_name \"\${ini}\" NAME)
    _mw_install_if_absent(\"\${ini}\" \"\${_root}\${_etc}/muwarden\" \"\${_name}\")
  endforeach()

  message(STATUS \"Installing: \${_root}\${_etc}/fail2ban/filter.d/muwarden.conf\")
  file(MAKE_DIRECTORY \"\${_root}\${_etc}/fail2ban/filter.d\")
  configure_file(\"\${_src}/fail2ban/filter.d/muwarden.conf\"
                 \"\${_root}\${_etc}/fail2ban/filter.d/muwarden.conf\" COPYONLY)
  file(READ \"\${_src}/fail2ban/jail.d/muwarden.local\" _text)
  string(REPLACE \"/var/log/muwarden/\" \"${MUWARDEN_LOG_DIR}/\" _text \"\${_text}\")
  set(_jail \"${CMAKE_BINARY_DIR}/muwarden.local.install\")
  file(WRITE \"\${_jail}\" \"\${_text}\")
  _mw_install_if_absent(\"\${_jail}\" \"\${_root}\${_etc}/fail2ban/jail.d\" muwarden.local)

  # The shipped units name /usr/local/bin, /etc/muwarden and /var/{lib,log}/muwarden.
  foreach(unit muwarden-connect.service muwarden-game.service)
    file(READ \"\${_src}/systemd/\${unit}\" _text)
    string(REPLACE \"/usr/local/bin/\" \"\${_prefix}/${CMAKE_INSTALL_BINDIR}/\" _text \"\${_text}\")
    string(REPLACE \"/etc/muwarden/\" \"\${_etc}/muwarden/\" _text \"\${_text}\")
    string(REPLACE \"/var/lib/muwarden/\" \"${MUWARDEN_STATE_DIR}/\" _text \"\${_text}\")
    string(REPLACE \"/var/log/muwarden/\" \"${MUWARDEN_LOG_DIR}/\" _text \"\${_text}\")
    string(REPLACE \"file:///usr/local/share/doc/muwarden/\"
           \"file://\${_prefix}/${_mw_doc_dir}/\" _text \"\${_text}\")
    set(_dir \"\${_root}\${_prefix}/lib/systemd/system\")
    message(STATUS \"Installing: \${_dir}/\${unit}\")
    file(MAKE_DIRECTORY \"\${_dir}\")
    file(WRITE \"\${_dir}/\${unit}\" \"\${_text}\")
  endforeach()
")
