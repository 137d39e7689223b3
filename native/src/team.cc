#include "team.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void relax() { _mm_pause(); }
#else
static inline void relax() {}
#endif

namespace {

// How long a helper spins for the next job before it sleeps. The JavaScript between two products
// of a training step takes well under this, and waking a sleeping thread costs tens of microseconds.
constexpr auto HELPER_SPIN = std::chrono::microseconds(500);
// The caller spins this many pauses for the last tiles before it sleeps until they are done.
constexpr int CALLER_SPINS = 4096;
constexpr int SPINS_PER_CLOCK_READ = 256;
// Sharing is judged over windows of this much wall time of shared jobs: does the team finish them
// sooner than the caller would alone? A core taken by another process makes the caller wait for a
// held tile in job after job, while this VM also pauses a thread for 0.2-6 ms several times a
// second when the machine is idle; one job cannot tell the two apart, a window of 20 ms can.
constexpr auto JUDGEMENT_WINDOW = std::chrono::milliseconds(20);
// The caller's estimate of its time alone comes from its tiles in shared jobs, which run slower
// than alone as both threads draw on the same cache and memory: sharing goes on only while a
// window's shared jobs took at most this share of that estimate.
constexpr double SHARED_TO_ALONE_LIMIT = 0.8;
// How long the caller runs jobs alone once a window found sharing slower, after which the team
// shares again to see whether the helpers' cores are back. Each window that finds them still
// taken costs up to its length, so each one in a row doubles the next solo stretch, up to 4 s:
// under a steady load the tries then cost about 1% of the time, and after a passing load the
// team is back to sharing within a quarter of a second.
constexpr auto FIRST_SOLO_STRETCH = std::chrono::milliseconds(250);
constexpr auto MAX_SOLO_STRETCH = std::chrono::milliseconds(4000);
// How often the caller counts the machine's runnable threads (a read of /proc/loadavg, about 2 µs),
// and how many counts make a verdict after the first. While a team trained alone on this VM, about
// one count in ten still showed a thread or two more, in bursts: a mean over 8 counts reached 3/4
// in one verdict in ten, a mean over 32 in one in thirty. A process that holds a core shows in
// every count.
// The first count decides alone, so a team that starts on a busy machine never shares.
constexpr auto CENSUS_INTERVAL = std::chrono::milliseconds(1);
constexpr int CENSUSES_PER_VERDICT = 32;
// A team's first shared jobs include each thread's first touches of its data and OpenBLAS's set-up
// on each thread, so they say nothing about a lost core.
constexpr int WARM_UP_JOBS = 8;

}  // namespace

Team::Team(int threads, bool watchMachine)
    : threads_(threads),
      nextSoloStretch_(FIRST_SOLO_STRETCH),
      runnable_(watchMachine && threads > 1 ? std::make_unique<RunnableThreads>() : nullptr),
      // At least one core per thread: a system that cannot say how many are online reports none.
      onlineCores_(std::max(threads, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)))) {
  for (int i = 1; i < threads; i++) helpers_.emplace_back([this, i] { serve(i == 1); });
}

Team::~Team() { stop(); }

void Team::stop() {
  if (quit_.exchange(true)) return;
  generation_.fetch_add(1);
  generation_.notify_all();
  for (auto& helper : helpers_) helper.join();
  helpers_.clear();
}

void Team::run(const Job& job) {
  if (job.tiles <= 0) return;
  const auto started = std::chrono::steady_clock::now();
  const bool shareable = job.tiles > 1 && !helpers_.empty();
  if (shareable && started >= soloUntil_ && helpersHaveCores(started)) {
    if (!wakeBeforeSharing_) {
      share(job, started);
      return;
    }
    // Jobs just ran alone, and the helpers may have gone to sleep: a job shared now would wait for
    // them to wake, which looks like a lost core. Wake them with nothing to take, so they spin for
    // the next job, and run this one alone.
    wakeBeforeSharing_ = false;
    generation_.fetch_add(1);
    if (sleepers_.load() > 0) generation_.notify_all();
  } else if (shareable) {
    wakeBeforeSharing_ = true;
  }
  for (int tile = 0; tile < job.tiles; tile++) job.run(job.context, tile);
}

bool Team::helpersHaveCores(std::chrono::steady_clock::time_point now) {
  if (runnable_ == nullptr || now < nextCensus_) return helpersHaveCores_;
  const bool first = nextCensus_ == std::chrono::steady_clock::time_point{};
  nextCensus_ = now + CENSUS_INTERVAL;
  const int runnable = runnable_->count();
  if (runnable < 0) return helpersHaveCores_;
  // Ours are the caller, which is reading, and the helpers not asleep, spinning or working.
  const int awakeHelpers = static_cast<int>(helpers_.size()) - sleepers_.load(std::memory_order_relaxed);
  otherThreads_ += std::max(0, runnable - 1 - awakeHelpers);
  censuses_++;
  if (first || censuses_ == CENSUSES_PER_VERDICT) {
    // The helpers have cores of their own while the other threads, on average, take fewer than
    // the cores the team leaves spare and three quarters of one more.
    const int spareCores = onlineCores_ - threads_;
    helpersHaveCores_ = 4 * otherThreads_ < (4 * spareCores + 3) * censuses_;
    otherThreads_ = censuses_ = 0;
  }
  return helpersHaveCores_;
}

void Team::share(const Job& job, std::chrono::steady_clock::time_point started) {
  job_ = job;
  done_.store(0, std::memory_order_relaxed);
  untaken_.store(static_cast<uint64_t>(job.tiles) << 32, std::memory_order_release);
  generation_.fetch_add(1);
  if (sleepers_.load() > 0) generation_.notify_all();
  const int callerTiles = work(false);
  const auto worked = std::chrono::steady_clock::now();
  for (int spins = 0;; spins++) {
    const int done = done_.load(std::memory_order_acquire);
    if (done >= job.tiles) break;
    // Sleeping rather than yielding leaves this core idle, and an idle core pulls a runnable
    // thread over from a busy one: a helper that another process pushed off its core finishes
    // its tile here within microseconds instead of waiting out that process's time slice.
    if (spins < CALLER_SPINS) relax();
    else done_.wait(done, std::memory_order_acquire);
  }
  // A job one side took no tile of says nothing of sharing: the helpers were asleep, slow to look
  // or paused by the VM (or the caller was), and one thread ran it as it would have alone. Counted,
  // a window of such jobs (a helper paused for 20 ms) reads as sharing that saves nothing, and
  // sends a team whose helper is back a moment later solo for a quarter of a second. Nor does
  // such a job warm the helpers up.
  if (callerTiles == 0 || callerTiles == job.tiles) return;
  if (sharedJobs_ < WARM_UP_JOBS) {
    sharedJobs_++;
    return;
  }
  // The caller alone would have taken its own tiles' time for every tile. Tiles are the same
  // either way, so going alone changes the speed and never the bits.
  const auto finished = std::chrono::steady_clock::now();
  const auto wall = finished - started;
  windowShared_ += wall;
  windowAlone_ += (worked - started) * job.tiles / callerTiles;
  if (windowShared_ < JUDGEMENT_WINDOW) return;
  if (windowShared_ > SHARED_TO_ALONE_LIMIT * windowAlone_) {
    soloUntil_ = finished + nextSoloStretch_;
    nextSoloStretch_ = std::min<std::chrono::steady_clock::duration>(2 * nextSoloStretch_, MAX_SOLO_STRETCH);
  } else {
    nextSoloStretch_ = FIRST_SOLO_STRETCH;
  }
  windowShared_ = windowAlone_ = {};
}

int Team::work(bool fromBack) {
  constexpr uint64_t FRONT = 1;
  constexpr uint64_t BACK = uint64_t{1} << 32;
  for (int taken = 0;; taken++) {
    uint64_t untaken = untaken_.load(std::memory_order_acquire);
    int tile;
    uint64_t left;
    do {
      const int front = static_cast<int>(untaken & 0xffffffffu);
      const int back = static_cast<int>(untaken >> 32);
      if (front >= back) return taken;
      tile = fromBack ? back - 1 : front;
      left = fromBack ? untaken - BACK : untaken + FRONT;
    } while (!untaken_.compare_exchange_weak(untaken, left, std::memory_order_acq_rel, std::memory_order_acquire));
    // The job cannot change until this tile is counted done, so reading it here is safe.
    const Job job = job_;
    job.run(job.context, tile);
    if (done_.fetch_add(1, std::memory_order_release) + 1 == job.tiles) done_.notify_one();
  }
}

void Team::serve(bool fromBack) {
  // Generation 0 is the team's start, whenever this thread gets to run: a job or stop() may
  // already have bumped it.
  uint32_t seen = 0;
  for (;;) {
    auto deadline = std::chrono::steady_clock::now() + HELPER_SPIN;
    for (int spins = 1; generation_.load(std::memory_order_acquire) == seen; spins++) {
      relax();
      if (spins % SPINS_PER_CLOCK_READ == 0 && std::chrono::steady_clock::now() > deadline) {
        sleepers_.fetch_add(1);
        generation_.wait(seen);
        sleepers_.fetch_sub(1);
      }
    }
    seen = generation_.load(std::memory_order_acquire);
    if (quit_.load()) return;
    work(fromBack);
  }
}
