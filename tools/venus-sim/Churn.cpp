#include "Churn.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace vmd::sim {

Churn::Churn(std::vector<SimService*> services, double perSecond, const std::string& countFile)
    : services_(std::move(services)), perSecond_(perSecond) {
    std::vector<std::vector<std::size_t>> churnable;
    std::size_t batching = 0;
    for (auto* s : services_) {
        churnable.push_back(s->churnable());
        const bool batch = s->emitsItemsChanged() && batching++ % 2 == 0;
        emission_.push_back(batch ? SimService::Emission::ItemsChanged
                                  : SimService::Emission::PropertiesChanged);
    }
    for (std::size_t round = 0;; ++round) {
        bool any = false;
        for (std::size_t s = 0; s < churnable.size(); ++s)
            if (round < churnable[s].size()) {
                order_.push_back({s, churnable[s][round]});
                any = true;
            }
        if (!any) break;
    }
    batch_.resize(services_.size());
    if (countFile.empty()) return;
    const int fd = ::open(countFile.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ::ftruncate(fd, kMappedSize) != 0) {
        const std::string error = std::strerror(errno);
        if (fd >= 0) ::close(fd);
        throw std::runtime_error("--churn-count " + countFile + ": " + error);
    }
    void* map = ::mmap(nullptr, kMappedSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED) throw std::runtime_error("--churn-count " + countFile + ": mmap failed");
    mapped_ = static_cast<char*>(map);
    publishCounts();
}

Churn::~Churn() {
    if (mapped_) ::munmap(mapped_, kMappedSize);
}

std::string Churn::countLine(const ChurnCounts& c) {
    return "changes " + std::to_string(c.changes) + " items-changed " + std::to_string(c.itemsChanged) +
           " properties-changed " + std::to_string(c.propertiesChanged);
}

void Churn::publishCounts() {
    if (!mapped_) return;
    // Fixed width, newline-terminated: a reader that sees a line without its newline reads again.
    const auto line = countLine(counts_);
    std::memset(mapped_, ' ', 120);
    std::memcpy(mapped_, line.data(), std::min<std::size_t>(line.size(), 118));
    mapped_[119] = '\n';
}

void Churn::tick(std::chrono::milliseconds tick) {
    if (order_.empty()) return;
    owed_ += perSecond_ * static_cast<double>(tick.count()) / 1000.0;
    auto due = static_cast<std::size_t>(owed_);
    owed_ -= static_cast<double>(due);
    for (auto& b : batch_)
        b.clear();
    for (; due > 0; --due) {
        const Slot& slot = order_[next_];
        batch_[slot.service].push_back(slot.item);
        next_ = (next_ + 1) % order_.size();
    }
    for (std::size_t s = 0; s < services_.size(); ++s) {
        if (batch_[s].empty()) continue;
        const auto signals = services_[s]->churn(batch_[s], emission_[s]);
        counts_.changes += batch_[s].size();
        (emission_[s] == SimService::Emission::ItemsChanged ? counts_.itemsChanged
                                                            : counts_.propertiesChanged) += signals;
    }
    publishCounts();
}

} // namespace vmd::sim
