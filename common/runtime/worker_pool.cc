#include "common/runtime/worker_pool.h"

#include <cstdio>
#include <cstdlib>

namespace muwarden::runtime {

struct WorkerPool::Worker {
  WorkerPool* pool = nullptr;
  pthread_t thread{};
  Job job;  // guarded by pool->mu_
  bool has_job = false;
  bool exit = false;
  CondVar cv;
};

WorkerPool::WorkerPool(const WorkerPoolConfig& config) : config_(config) {}

WorkerPool::~WorkerPool() { Shutdown(); }

size_t WorkerPool::idle() const {
  MutexLock lock(&mu_);
  return idle_.size();
}

bool WorkerPool::Submit(Job job) {
  MutexLock lock(&mu_);
  if (stopping_) return false;
  if (!idle_.empty()) {
    Worker* w = idle_.back();
    idle_.pop_back();
    w->job = std::move(job);
    w->has_job = true;
    busy_.fetch_add(1, std::memory_order_relaxed);
    w->cv.Signal();
    return true;
  }
  if (all_.size() >= config_.max_workers) return false;
  auto worker = std::make_unique<Worker>();
  worker->pool = this;
  worker->job = std::move(job);
  worker->has_job = true;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, config_.stack_bytes);
  int rc = pthread_create(&worker->thread, &attr, &WorkerPool::ThreadMain,
                          worker.get());
  pthread_attr_destroy(&attr);
  if (rc != 0) return false;  // EAGAIN: the caller refuses the connection
  busy_.fetch_add(1, std::memory_order_relaxed);
  threads_.fetch_add(1, std::memory_order_relaxed);
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
      MutexLock lock(&mu_);
      while (!w->has_job && !w->exit) w->cv.Wait(&mu_);
      if (!w->has_job) return;  // exit requested and nothing left to run
      job = std::move(w->job);
      w->job = nullptr;
      w->has_job = false;
    }
    job(arena);
    job = nullptr;  // destroy what the job owned (socket, slots) before going
                    // idle
    arena.Reset();
    MutexLock lock(&mu_);
    busy_.fetch_sub(1, std::memory_order_relaxed);
    if (w->exit) return;
    idle_.push_back(w);
  }
}

void WorkerPool::Shutdown() {
  std::vector<pthread_t> threads;
  {
    MutexLock lock(&mu_);
    if (stopping_ && all_.empty()) return;
    stopping_ = true;
    for (auto& w : all_) {
      w->exit = true;
      w->cv.Signal();
      threads.push_back(w->thread);
    }
  }
  for (pthread_t t : threads) pthread_join(t, nullptr);
  MutexLock lock(&mu_);
  idle_.clear();
  all_.clear();
  threads_.store(0, std::memory_order_relaxed);
}

}  // namespace muwarden::runtime
