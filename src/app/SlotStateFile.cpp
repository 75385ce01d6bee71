#include "app/SlotStateFile.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vmd::app {

namespace {

std::shared_ptr<spdlog::logger> log() {
    auto logger = spdlog::get("app");
    return logger ? logger : spdlog::default_logger();
}

/// Writes all of `text` to `fd`; false with errno set on failure.
bool writeAll(int fd, const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        auto n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

} // namespace

SlotStateFile::SlotStateFile(const std::string& dir) {
    if (dir.empty()) {
        log()->info("output slots are kept only while the daemon runs (--state-dir is empty)");
        return;
    }
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        log()->warn("output slots are kept only while the daemon runs: the state directory {} does not exist",
                    dir);
        return;
    }
    path_ = (std::filesystem::path(dir) / "output-slots").string();
}

std::shared_ptr<core::SlotAssignment> SlotStateFile::load() {
    auto assignment = std::make_shared<core::SlotAssignment>();
    if (path_.empty()) return assignment;
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
        if (errno != ENOENT)
            log()->error("{}: cannot read the output slots ({}): starting with none; the file is replaced at "
                         "the next new slot",
                         path_, std::strerror(errno));
        else
            log()->info("{}: no output slots kept yet", path_);
        return assignment;
    }
    std::ostringstream text;
    text << in.rdbuf();
    auto parsed = core::SlotAssignment::fromText(text.str());
    for (const auto& problem : parsed.problems)
        log()->error("{}:{}: left out (the other lines are kept)", path_, problem);
    *assignment = std::move(parsed.assignment);
    log()->info("{}: output slots of {} services read", path_, assignment->owners());
    return assignment;
}

void SlotStateFile::save(const core::SlotAssignment& assignment) {
    if (path_.empty() || assignment.generation() == saved_) return;
    const std::string temp = path_ + ".new";
    auto fail = [&](const char* step) {
        log()->error("{}: cannot save the output slots ({} {}: {}): they hold until the daemon stops", path_,
                     step, temp, std::strerror(errno));
    };
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return fail("open");
    bool ok = writeAll(fd, assignment.toText()) && ::fsync(fd) == 0;
    int error = errno;
    ::close(fd);
    errno = error;
    if (!ok) {
        fail("write");
        ::unlink(temp.c_str());
        return;
    }
    if (::rename(temp.c_str(), path_.c_str()) != 0) {
        fail("rename");
        ::unlink(temp.c_str());
        return;
    }
    // The rename itself reaches the disk with the directory.
    if (int dir =
            ::open(std::filesystem::path(path_).parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
    saved_ = assignment.generation();
    log()->debug("{}: output slots saved", path_);
}

} // namespace vmd::app
