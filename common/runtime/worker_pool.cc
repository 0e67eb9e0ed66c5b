#include "common/runtime/worker_pool.h"

#include <cstdio>
#include <cstdlib>

namespace muwarden::runtime {

// Each worker has its own hand-off slot, so the pool's lock is held only to
// take a worker off the idle list or put it back, and a waking worker never
// waits for the thread that woke it.
struct WorkerPool::Worker {
  WorkerPool* pool = nullptr;
  pthread_t thread{};
  Mutex mu;
  CondVar cv;
  Job job ABSL_GUARDED_BY(mu);
  bool has_job ABSL_GUARDED_BY(mu) = false;
  bool exit ABSL_GUARDED_BY(mu) = false;
};

WorkerPool::WorkerPool(const WorkerPoolConfig& config) : config_(config) {}

WorkerPool::~WorkerPool() { Shutdown(); }

size_t WorkerPool::idle() const {
  MutexLock lock(&mu_);
  return idle_.size();
}

bool WorkerPool::Submit(Job job) {
  Worker* w = nullptr;
  {
    MutexLock lock(&mu_);
    if (stopping_) return false;
    if (!idle_.empty()) {
      w = idle_.back();
      idle_.pop_back();
      busy_.fetch_add(1, std::memory_order_relaxed);
    } else if (all_.size() >= config_.max_workers) {
      return false;
    }
  }
  if (w != nullptr) {
    {
      MutexLock lock(&w->mu);
      w->job = std::move(job);
      w->has_job = true;
    }
    w->cv.Signal();  // after unlocking: the worker wakes to a free lock
    return true;
  }
  auto worker = std::make_unique<Worker>();
  worker->pool = this;
  {
    MutexLock lock(&worker->mu);
    worker->job = std::move(job);
    worker->has_job = true;
  }
  MutexLock lock(&mu_);
  if (stopping_ || all_.size() >= config_.max_workers) return false;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, config_.stack_bytes);
  // Counted before the thread runs its job, so the counts never lag behind
  // what the job does.
  busy_.fetch_add(1, std::memory_order_relaxed);
  threads_.fetch_add(1, std::memory_order_relaxed);
  int rc = pthread_create(&worker->thread, &attr, &WorkerPool::ThreadMain,
                          worker.get());
  pthread_attr_destroy(&attr);
  if (rc != 0) {  // EAGAIN: the caller refuses the connection
    busy_.fetch_sub(1, std::memory_order_relaxed);
    threads_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  all_.push_back(std::move(worker));
  return true;
}

void* WorkerPool::ThreadMain(void* arg) {
  pthread_setname_np(pthread_self(), "mw-worker");
  auto* w = static_cast<Worker*>(arg);
  w->pool->Run(w);
  return nullptr;
}

void WorkerPool::Run(Worker* w) {
  Arena arena(config_.arena_bytes);
  while (true) {
    Job job;
    {
      MutexLock lock(&w->mu);
      while (!w->has_job && !w->exit) w->cv.Wait(&w->mu);
      if (!w->has_job) return;  // exit requested and nothing left to run
      job = std::move(w->job);
      w->job = nullptr;
      w->has_job = false;
    }
    job(arena);
    job = nullptr;  // destroy what the job owned (socket, slots) before going
                    // idle
    arena.Reset();
    {
      MutexLock lock(&w->mu);
      if (w->exit) {
        busy_.fetch_sub(1, std::memory_order_relaxed);
        return;
      }
    }
    MutexLock lock(&mu_);
    busy_.fetch_sub(1, std::memory_order_relaxed);
    if (stopping_) return;
    idle_.push_back(w);
  }
}

void WorkerPool::Shutdown() {
  std::vector<Worker*> workers;
  {
    MutexLock lock(&mu_);
    if (stopping_ && all_.empty()) return;
    stopping_ = true;
    for (auto& w : all_) workers.push_back(w.get());
  }
  for (Worker* w : workers) {
    {
      MutexLock lock(&w->mu);
      w->exit = true;
    }
    w->cv.Signal();
  }
  for (Worker* w : workers) pthread_join(w->thread, nullptr);
  MutexLock lock(&mu_);
  idle_.clear();
  all_.clear();
  threads_.store(0, std::memory_order_relaxed);
}

void WorkerPoolConfig::Describe(config::Schema& s) {
  s.Kib("server", "worker_stack_kib", &stack_bytes, 64, 8192,
        "stack size of each worker thread in KiB");
  s.Kib("server", "arena_kib", &arena_bytes, 4, 65536,
        "per-connection arena in KiB; a connection that needs more is closed");
}

}  // namespace muwarden::runtime
