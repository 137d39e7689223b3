// How many threads the machine's scheduler has runnable at this moment, from Linux's
// /proc/loadavg, whose fourth field is "runnable/existing" (the reading thread counts as one).
#pragma once

class RunnableThreads {
 public:
  RunnableThreads();
  ~RunnableThreads();
  RunnableThreads(const RunnableThreads&) = delete;
  RunnableThreads& operator=(const RunnableThreads&) = delete;

  // The count now, or -1 where the system does not say (not Linux, or /proc not mounted).
  int count() const;

 private:
  int fd_;
};
