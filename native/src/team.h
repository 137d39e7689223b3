// A thread team that shares the tiles of one job through an atomic counter.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "runnable-threads.h"

// One job: `tiles` calls of run(context, tile). A tile's work depends only on its index, never
// on the thread that takes it, so a job's result is the same for any thread count.
struct Job {
  void (*run)(const void* context, int tile);
  const void* context;
  int tiles;
};

// The calling thread plus threads - 1 helpers. run() publishes a job; every thread, the caller
// included, takes the next untaken tile until none is left, so a thread slowed by another
// process simply takes fewer tiles, and the caller waits only for tiles that were taken. The
// caller takes tiles from the front and the first helper from the back: on an idle machine each
// then computes the same columns of every layer step after step, so the activations and weights a
// tile reads are already in its own core's cache rather than the other's.
//
// A helper helps only on a core of its own. When other threads keep the machine's cores so busy
// that none is left for the helpers, the team runs jobs on the caller alone, without trying to
// share, until one is free again. And when shared jobs take longer than the caller would have
// taken alone, over a window of them (as when something the count of runnable threads does not
// show, such as a CPU quota, holds a helper's core), the team runs the next jobs on the caller
// alone, then tries again.
class Team {
 public:
  // With watchMachine false, the team ignores the machine's other threads and goes by the times
  // of its shared jobs alone (the tests of that judge use it).
  explicit Team(int threads, bool watchMachine = true);
  ~Team();
  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;

  int threads() const { return threads_; }
  // Runs every tile of the job and returns when all are done.
  void run(const Job& job);
  // Ends the helpers; run() then computes every tile on the calling thread.
  void stop();

 private:
  // Publishes the job to the helpers, takes tiles with them, and waits for the last.
  void share(const Job& job, std::chrono::steady_clock::time_point started);
  void serve(bool fromBack);
  // Takes and computes tiles, from the front or the back of those left, until none is left;
  // returns how many it took.
  int work(bool fromBack);
  // Whether the machine's other threads leave the helpers cores of their own, as last judged.
  // Counts the runnable threads at most once per census interval.
  bool helpersHaveCores(std::chrono::steady_clock::time_point now);

  int threads_;
  std::vector<std::thread> helpers_;
  Job job_{};
  // The untaken tiles [front, back): back in the high 32 bits, front in the low 32. A thread
  // takes a tile with a compare-and-swap, so a helper that looked at an earlier job can only
  // take a tile of the job that is current when its swap succeeds.
  std::atomic<uint64_t> untaken_{0};
  std::atomic<int> done_{0};
  // Bumped once a job is published; helpers spin on it, then sleep on it.
  std::atomic<uint32_t> generation_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> quit_{false};
  // Until when jobs run on the caller alone after sharing was found slower (see share()), and how
  // long the next such stretch will be.
  std::chrono::steady_clock::time_point soloUntil_{};
  std::chrono::steady_clock::duration nextSoloStretch_;
  // Set by a job of several tiles run alone: the first to be shared after it wakes the helpers
  // before any job is shared.
  bool wakeBeforeSharing_ = false;
  // The machine's runnable threads (null when not watched), the cores they may run on, and
  // the current verdict: the other threads counted over the last censuses.
  std::unique_ptr<RunnableThreads> runnable_;
  int onlineCores_;
  bool helpersHaveCores_ = true;
  std::chrono::steady_clock::time_point nextCensus_{};
  int censuses_ = 0;
  int otherThreads_ = 0;
  // Shared jobs so far, counted up to the warm-up (see share()).
  int sharedJobs_ = 0;
  // The current judgement window: the shared jobs' wall time, and the caller's estimate of the
  // time it would have taken alone.
  std::chrono::steady_clock::duration windowShared_{};
  std::chrono::steady_clock::duration windowAlone_{};
};
