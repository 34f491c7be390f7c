// The configuration area in one include: composition of the JSON config tree
// with overrides and interpolation, typed binding, secrets, the saved run config.
#pragma once

#include <speedrunner/config/bind.hpp>
#include <speedrunner/config/compose.hpp>
#include <speedrunner/config/interpolate.hpp>
#include <speedrunner/config/json.hpp>
#include <speedrunner/config/overrides.hpp>
#include <speedrunner/config/run_config.hpp>
#include <speedrunner/config/secrets.hpp>
#include <speedrunner/config/settings.hpp>
#include <speedrunner/config/suggest.hpp>
