# Install rules for venus-modbusd: the one place that says what is installed where.
# Included at the end of the top-level CMakeLists.txt, after every target exists.
#
#   cmake -S . -B build -DCMAKE_INSTALL_PREFIX=/usr   # the layout of the Debian package
#   cmake --build build && cmake --install build      # or DESTDIR=/tmp/stage cmake --install build
#
# Choose the prefix when configuring, not with `cmake --install --prefix`: the daemon compiles in
# the path of the installed map, and with the prefix /usr the config goes to /etc, not /usr/etc.
#
# Options (cache variables):
#   VMD_INSTALL_SERVICE_FILES  systemd unit, sysusers.d entry, D-Bus policy, /etc config (ON);
#                              turn it off for a self-contained tree such as a GX device bundle
#   VMD_SYSTEMD_UNITDIR        where the unit goes (default: <prefix>/lib/systemd/system)
#   VMD_SYSUSERSDIR            where the sysusers.d entry goes (default: <prefix>/lib/sysusers.d)
include_guard(GLOBAL)
include(GNUInstallDirs)

option(VMD_INSTALL_SERVICE_FILES "Install the systemd unit, sysusers.d entry, D-Bus policy and /etc config" ON)
set(VMD_SYSTEMD_UNITDIR "" CACHE PATH "Directory for the systemd unit (empty: <prefix>/lib/systemd/system)")
set(VMD_SYSUSERSDIR "" CACHE PATH "Directory for the sysusers.d entry (empty: <prefix>/lib/sysusers.d)")
set(_vmd_unitdir "${VMD_SYSTEMD_UNITDIR}")
if(NOT _vmd_unitdir)
  set(_vmd_unitdir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()
set(_vmd_sysusersdir "${VMD_SYSUSERSDIR}")
if(NOT _vmd_sysusersdir)
  set(_vmd_sysusersdir "${CMAKE_INSTALL_PREFIX}/lib/sysusers.d")
endif()

set(_vmd_pkg "${PROJECT_SOURCE_DIR}/packaging")
set(_vmd_share "${CMAKE_INSTALL_DATADIR}/venus-modbusd")

# Programs: the daemon in sbin, the tools in bin (those that exist in this tree).
install(TARGETS venus-modbusd RUNTIME DESTINATION "${CMAKE_INSTALL_SBINDIR}")
foreach(_vmd_tool IN ITEMS venus-sim venus-regmap venus-bench)
  if(TARGET ${_vmd_tool})
    install(TARGETS ${_vmd_tool} RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
  endif()
endforeach()

# Data (src/core/DataDir.h says how the programs find it): the register map, its sources (the
# services' usual unit IDs for venus-regmap find/read/write) and the simulator's scenarios.
install(FILES "${PROJECT_SOURCE_DIR}/register-maps/victron.yaml" DESTINATION "${_vmd_share}")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/register-maps/src/" DESTINATION "${_vmd_share}/sources"
        FILES_MATCHING PATTERN "*.yaml")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/tools/venus-sim/scenarios/" DESTINATION "${_vmd_share}/scenarios"
        FILES_MATCHING PATTERN "*.yaml")

# Manual pages (generated from --help by docs/man/generate.sh and committed).
foreach(_vmd_page IN ITEMS venus-modbusd.8 venus-sim.1 venus-regmap.1 venus-bench.1)
  set(_vmd_page_file "${PROJECT_SOURCE_DIR}/docs/man/${_vmd_page}")
  if(EXISTS "${_vmd_page_file}")
    string(REGEX MATCH "[0-9]$" _vmd_section "${_vmd_page}")
    install(FILES "${_vmd_page_file}" DESTINATION "${CMAKE_INSTALL_MANDIR}/man${_vmd_section}")
  endif()
endforeach()

# Documentation, keeping README.md beside docs/ so that its links work.
install(FILES "${PROJECT_SOURCE_DIR}/README.md" DESTINATION "${CMAKE_INSTALL_DOCDIR}")
file(GLOB _vmd_docs CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/docs/*.md")
install(FILES ${_vmd_docs} DESTINATION "${CMAKE_INSTALL_DOCDIR}/docs")
# The register list also as csv and xlsx (venus-regmap export), beside registers.md whose links
# name them (debian/rules keeps all three uncompressed).
install(FILES "${PROJECT_SOURCE_DIR}/docs/registers.csv" "${PROJECT_SOURCE_DIR}/docs/registers.xlsx"
        DESTINATION "${CMAKE_INSTALL_DOCDIR}/docs")

# System integration.
if(VMD_INSTALL_SERVICE_FILES)
  # The unit names /usr/sbin and /etc; another prefix gets a copy with its own paths.
  set(_vmd_unit "${_vmd_pkg}/venus-modbusd.service")
  if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    file(READ "${_vmd_unit}" _vmd_text)
    string(REPLACE "/usr/sbin/" "${CMAKE_INSTALL_FULL_SBINDIR}/" _vmd_text "${_vmd_text}")
    string(REPLACE "/etc/venus-modbusd/" "${CMAKE_INSTALL_FULL_SYSCONFDIR}/venus-modbusd/" _vmd_text "${_vmd_text}")
    set(_vmd_unit "${CMAKE_CURRENT_BINARY_DIR}/venus-modbusd.service")
    file(WRITE "${_vmd_unit}" "${_vmd_text}")
  endif()
  install(FILES "${_vmd_unit}" DESTINATION "${_vmd_unitdir}")
  install(FILES "${_vmd_pkg}/venus-modbusd.sysusers" DESTINATION "${_vmd_sysusersdir}"
          RENAME venus-modbusd.conf)
  install(FILES "${_vmd_pkg}/venus-modbusd-dbus.conf" DESTINATION "${CMAKE_INSTALL_DATADIR}/dbus-1/system.d"
          RENAME venus-modbusd.conf)
  # GNUInstallDirs makes this /etc when the prefix is /usr.
  install(FILES "${_vmd_pkg}/venus-modbusd.yaml" DESTINATION "${CMAKE_INSTALL_FULL_SYSCONFDIR}/venus-modbusd")
endif()
