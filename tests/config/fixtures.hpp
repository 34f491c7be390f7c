// Test helpers for the config area: small config trees in temporary folders,
// a fixed clock and environment for interpolation.
#pragma once

#include <speedrunner/config/interpolate.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace speedrunner::testing {

inline void write_file(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

// 2025-03-04 05:06:07 local time, and an environment of only `vars`.
inline config::ResolveOptions fixed_resolve(std::map<std::string, std::string> vars = {}) {
  config::ResolveOptions o;
  std::tm tm{};
  tm.tm_year = 125;
  tm.tm_mon = 2;
  tm.tm_mday = 4;
  tm.tm_hour = 5;
  tm.tm_min = 6;
  tm.tm_sec = 7;
  tm.tm_isdst = -1;
  o.now = std::chrono::system_clock::from_time_t(std::mktime(&tm));
  o.cwd = "/srv/speedrunner";  // ${path:...} resolves against it
  o.getenv = [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  return o;
}

}  // namespace speedrunner::testing
