# `cmake --install`: the binaries, the C++ client (static libraries and the headers it needs)
# and a CMake package, so that an application does
#   find_package(Pravaha 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE Pravaha::client)
# (examples/consumer). Our warning and sanitizer flags stay out of the exported targets.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS pravaha-node pravaha pravaha-bench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set_target_properties(pravaha_schema PROPERTIES EXPORT_NAME schema)
set_target_properties(pravaha_transport PROPERTIES EXPORT_NAME transport)
set_target_properties(pravaha_client PROPERTIES EXPORT_NAME client)
install(TARGETS pravaha_schema pravaha_transport pravaha_client EXPORT PravahaTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})

# The client's public headers and every schema header they include.
install(FILES client/client.hpp client/actor_api.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/pravaha/client)
file(GLOB _pravaha_schema_headers RELATIVE ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/schema/*.hpp)
# capnp_codec.hpp is internal (it includes generated code that is not installed).
list(REMOVE_ITEM _pravaha_schema_headers schema/capnp_codec.hpp)
install(FILES ${_pravaha_schema_headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/pravaha/schema)

set(_pravaha_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/Pravaha)
install(EXPORT PravahaTargets NAMESPACE Pravaha:: DESTINATION ${_pravaha_cmake_dir})
configure_package_config_file(cmake/PravahaConfig.cmake.in
  ${PROJECT_BINARY_DIR}/PravahaConfig.cmake INSTALL_DESTINATION ${_pravaha_cmake_dir})
# 0.x: a minor version may break the API, so only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/PravahaConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/PravahaConfig.cmake
              ${PROJECT_BINARY_DIR}/PravahaConfigVersion.cmake
              cmake/FindCAF.cmake
        DESTINATION ${_pravaha_cmake_dir})

# The service unit, its system user and its flags file (README "Operations"), and the README.
install(FILES deploy/pravaha.service DESTINATION lib/systemd/system)
install(FILES deploy/pravaha.sysusers DESTINATION lib/sysusers.d RENAME pravaha.conf)
install(FILES deploy/pravaha.default DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/pravaha/examples
        RENAME default-pravaha)
install(FILES README.md ARCHITECTURE.md DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/pravaha)

# The CLI's bash completion, printed by the built CLI itself (client/CMakeLists.txt).
install(FILES ${PROJECT_BINARY_DIR}/client/pravaha.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME pravaha)
