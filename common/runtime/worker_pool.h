// WorkerPool: threads that each run one connection at a time, reused between
// connections. Submit() hands a job to an idle worker, or starts a new thread
// (with the configured stack size and its own Arena) only when none is idle, up
// to max_workers. Thread-safe.
#ifndef MUWARDEN_COMMON_RUNTIME_WORKER_POOL_H_
#define MUWARDEN_COMMON_RUNTIME_WORKER_POOL_H_

#include <pthread.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/base/mutex.h"
#include "common/config/schema.h"
#include "common/runtime/arena.h"

namespace muwarden::runtime {

struct WorkerPoolConfig {
  size_t stack_bytes = 256 * 1024;
  size_t arena_bytes = 64 * 1024;
  size_t max_workers = 1024;

  // [server] worker_stack_kib, arena_kib. max_workers follows max_clients
  // (ServerConfig).
  void Describe(config::Schema& schema);
};

class WorkerPool {
 public:
  using Job = std::function<void(Arena&)>;

  explicit WorkerPool(const WorkerPoolConfig& config);
  ~WorkerPool();  // Shutdown()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `job` on a worker. False when no worker could be had (max_workers
  // busy, thread creation failed, or shutting down); the job is then destroyed
  // without running.
  bool Submit(Job job);

  // Waits for running jobs to finish and joins every thread. Jobs must end on
  // their own (the server closes their sockets first).
  void Shutdown();

  size_t threads() const { return threads_.load(std::memory_order_relaxed); }
  size_t busy() const { return busy_.load(std::memory_order_relaxed); }
  size_t idle() const;

 private:
  struct Worker;
  static void* ThreadMain(void* arg);
  void Run(Worker* worker);

  const WorkerPoolConfig config_;
  mutable Mutex mu_;
  std::vector<Worker*> idle_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Worker>> all_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<size_t> threads_{0};
  std::atomic<size_t> busy_{0};
};

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_WORKER_POOL_H_
