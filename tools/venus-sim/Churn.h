#pragma once

// venus-sim --churn: N value changes a second over the scenario's services, emitted in the two styles
// of Venus services, and counted (docs/benchmarks.md, "Mirroring a busy bus").

#include "SimService.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vmd::sim {

/// What --churn has published so far.
struct ChurnCounts {
    std::uint64_t changes = 0;           ///< value changes
    std::uint64_t itemsChanged = 0;      ///< ItemsChanged signals (each carrying a batch of changes)
    std::uint64_t propertiesChanged = 0; ///< PropertiesChanged signals (one change each)
};

/// Drives the churn: every tick, the next share of `perSecond` changes, taken in turn from every
/// service's churnable paths (path 1 of every service, then path 2, ...), so that each tick spreads its
/// changes over the services. Services alternate in style: the 1st, 3rd, ... that offer GetItems batch
/// a tick's changes into one ItemsChanged; the others emit one PropertiesChanged per path.
class Churn {
  public:
    /// `countFile`, if not empty, always holds the counts as one line of text (see countLine()), kept
    /// current through a shared mapping (no system call per tick), for a benchmark to read.
    Churn(std::vector<SimService*> services, double perSecond, const std::string& countFile);
    ~Churn();
    Churn(const Churn&) = delete;
    Churn& operator=(const Churn&) = delete;

    /// Publishes the changes due for a tick of `tick`.
    void tick(std::chrono::milliseconds tick);
    [[nodiscard]] const ChurnCounts& counts() const { return counts_; }
    /// "changes C items-changed I properties-changed P": the line of the count file.
    [[nodiscard]] static std::string countLine(const ChurnCounts& counts);
    /// How many paths take part.
    [[nodiscard]] std::size_t paths() const { return order_.size(); }

  private:
    struct Slot {
        std::size_t service;
        std::size_t item;
    };
    void publishCounts();

    std::vector<SimService*> services_;
    std::vector<SimService::Emission> emission_; ///< per service
    std::vector<Slot> order_;                    ///< the order in which paths change
    std::size_t next_ = 0;                       ///< the next slot of order_ to change
    double perSecond_;
    double owed_ = 0; ///< changes due but not yet made (a fraction of one)
    ChurnCounts counts_;
    std::vector<std::vector<std::size_t>> batch_; ///< per service, this tick's items (reused)
    char* mapped_ = nullptr;
    static constexpr std::size_t kMappedSize = 4096;
};

} // namespace vmd::sim
