// A test addon around the native thread team (src/team.cc), never shipped: runs jobs whose tiles
// take a chosen time on the calling thread and another on the helpers (with, if asked, a pause on
// every nth helper tile, as a VM pauses a thread now and then), and reports who took which tiles,
// so test/kernels/team.test.ts can check that a slowed thread takes fewer, and that a team on a
// machine whose cores are all busy does not share.
#include <node_api.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "../src/team.h"

namespace {

struct Probe {
  std::thread::id caller;
  std::chrono::microseconds callerTile, helperTile;
  std::vector<int> takenBy;  // per tile: 0 for the caller, 1 for a helper
  int pauseEvery;            // every nth helper tile takes `pause` instead; 0 for none
  std::chrono::microseconds pause;
  std::atomic<int> helperTiles{0};
};

void busyFor(std::chrono::microseconds span) {
  const auto until = std::chrono::steady_clock::now() + span;
  while (std::chrono::steady_clock::now() < until) {
  }
}

void probeTile(const void* context, int tile) {
  auto& probe = *const_cast<Probe*>(static_cast<const Probe*>(context));
  const bool onCaller = std::this_thread::get_id() == probe.caller;
  probe.takenBy[tile] = onCaller ? 0 : 1;
  if (onCaller) {
    busyFor(probe.callerTile);
    return;
  }
  const int taken = probe.helperTiles.fetch_add(1) + 1;
  busyFor(probe.pauseEvery > 0 && taken % probe.pauseEvery == 0 ? probe.pause : probe.helperTile);
}

double argument(napi_env env, napi_value value) {
  double number = 0;
  napi_get_value_double(env, value, &number);
  return number;
}

// runJobs(threads, jobs, tiles, callerTileMicros, helperTileMicros, pauseEvery = 0, pauseMicros = 0,
// watchMachine = 0): for each job, an array with 0 (the caller), 1 (a helper) or -1 (nobody) per
// tile, in tile order. Unless watchMachine is 1, the team ignores the machine's other threads.
napi_value runJobs(napi_env env, napi_callback_info info) {
  napi_value args[8];
  std::size_t argc = 8;
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  const auto optional = [&](std::size_t at) { return at < argc ? argument(env, args[at]) : 0.0; };
  Team team(static_cast<int>(argument(env, args[0])), optional(7) == 1);
  const int jobs = static_cast<int>(argument(env, args[1]));
  const int tiles = static_cast<int>(argument(env, args[2]));
  Probe probe{std::this_thread::get_id(), std::chrono::microseconds(static_cast<long>(argument(env, args[3]))),
              std::chrono::microseconds(static_cast<long>(argument(env, args[4]))), std::vector<int>(tiles, -1),
              static_cast<int>(optional(5)), std::chrono::microseconds(static_cast<long>(optional(6)))};
  napi_value result;
  napi_create_array_with_length(env, jobs, &result);
  for (int j = 0; j < jobs; j++) {
    std::fill(probe.takenBy.begin(), probe.takenBy.end(), -1);
    team.run({probeTile, &probe, tiles});
    napi_value takenBy;
    napi_create_array_with_length(env, tiles, &takenBy);
    for (int t = 0; t < tiles; t++) {
      napi_value who;
      napi_create_int32(env, probe.takenBy[t], &who);
      napi_set_element(env, takenBy, t, who);
    }
    napi_set_element(env, result, j, takenBy);
  }
  return result;
}

}  // namespace

NAPI_MODULE_INIT() {
  napi_property_descriptor run{"runJobs", nullptr, runJobs, nullptr, nullptr, nullptr, napi_default, nullptr};
  napi_define_properties(env, exports, 1, &run);
  return exports;
}
