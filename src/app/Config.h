#pragma once

#include "app/Options.h"

#include <string>

namespace vmd::app {

/// The default config file, read when it exists and --config is not given.
inline constexpr const char* kDefaultConfigFile = "/etc/venus-modbusd/venus-modbusd.yaml";

/// Reads a YAML config file whose keys are the long options (bus, listen, map, overlays,
/// read-only, allow, write-allow, max-clients, max-clients-per-address, not-available, write-timeout,
/// idle-timeout, frame-timeout, log-level, state-dir) and the `tls:` map into `options`, except those given on
/// the command line. Throws
/// UsageError "FILE:LINE: message" for unknown keys, wrong types and bad values.
void applyConfigFile(Options& options, const std::string& path);
/// Same, from text (for tests).
void applyConfigText(Options& options, const std::string& yaml, const std::string& sourceName);

/// The config file to read: --config, else the default one when it exists, else none ("").
[[nodiscard]] std::string configFileFor(const Options& options);

} // namespace vmd::app
