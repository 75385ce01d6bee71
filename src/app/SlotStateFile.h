#pragma once

#include "core/SlotAssignment.h"

#include <memory>
#include <string>

namespace vmd::app {

/// The output slot assignment kept across daemon restarts, in `output-slots` of the state directory
/// (--state-dir). Reading: a missing file is an empty assignment; a line that does not parse is logged
/// as FILE:LINE and left out, the others kept; an unreadable file is logged and read as empty. Writing:
/// the whole file, atomically (a temporary file, synced, renamed over it), only when the assignment
/// changed since it was read or last written.
class SlotStateFile {
  public:
    /// `dir` "": nothing is kept (the slots hold until the daemon stops).
    explicit SlotStateFile(const std::string& dir);

    /// The assignment to start with, as the file holds it; logged.
    [[nodiscard]] std::shared_ptr<core::SlotAssignment> load();
    /// Writes `assignment` when it changed since load() or the last save(); a failure is logged and tried
    /// again at the next change.
    void save(const core::SlotAssignment& assignment);
    [[nodiscard]] const std::string& path() const { return path_; }

  private:
    std::string path_;        ///< "" when nothing is kept
    std::uint64_t saved_ = 0; ///< the generation on disk
};

} // namespace vmd::app
