#pragma once

#include "PathListParser.h"
#include "Sources.h"

#include <string>
#include <vector>

namespace vmd::regmaptool {

/// register-maps/src/path-list.yaml: what the path list said when it was last imported, so that the next
/// import can tell what changed. One entry per listed (service, path) with a digest of its description
/// (the list's own words are not kept). Written by `venus-regmap paths import`, never by hand.
inline constexpr const char* kPathListFile = "path-list.yaml";

struct ListedDigest {
    std::string service;
    std::string path;
    std::string digest;
};

/// Reads path-list.yaml; an absent file is an empty list (the first import), a broken one a problem.
[[nodiscard]] std::vector<ListedDigest> readPathListState(const std::string& file, Diagnostics& problems);

/// The text of path-list.yaml for `listed` (already without duplicates).
[[nodiscard]] std::string pathListStateText(const std::vector<ListedPath>& listed);

/// A stable 64-bit digest of a description, as 16 hex digits.
[[nodiscard]] std::string descriptionDigest(const std::string& description);

struct ImportResult {
    struct Added {
        ListedPath listed;
        bool newInPaths = false; ///< false: paths.yaml already has the path (or paths it stands for)
    };
    std::vector<ListedPath> listed; ///< the list without duplicate (service, path) entries
    std::vector<Added> added;
    std::vector<ListedDigest> gone;
    std::vector<ListedPath> changed;
    std::string pathsText; ///< paths.yaml with the new paths added (the old text when none)

    [[nodiscard]] bool changesAnything() const { return !added.empty() || !gone.empty() || !changed.empty(); }
};

/// Merges the parsed list into paths.yaml (`pathsText`, read as `paths`): paths it does not know are added
/// at the end of their service (a new service at the end of the file) with the list's description and
/// unit; curated entries are never changed or removed.
[[nodiscard]] ImportResult mergePathList(const std::vector<ListedPath>& parsed,
                                         const std::vector<ListedDigest>& before, const PathList& paths,
                                         const std::string& pathsText);

/// The summary the command prints: the added, gone and changed paths and the totals.
[[nodiscard]] std::string importSummary(const ImportResult& result);

} // namespace vmd::regmaptool
