#pragma once

namespace vmd::app {

/// Options -> map -> bus -> server; runs until SIGTERM/SIGINT. Returns the exit code.
int run(int argc, char** argv);

} // namespace vmd::app
