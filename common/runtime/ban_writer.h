// BanWriter: makes autobans durable off the accept path. The accept thread
// queues a ban (bounded; a block already queued is not queued twice); this
// unit's thread adds what is queued to the BanList in batches (one append and
// one fsync per batch) and prints each ban's security line only once it is on
// disk. The thread wakes at least once a second to print the log summaries
// whose minute is over, drop expired bans from memory, and rewrite the ban
// file when it outgrows the bans in force or an hour has passed. Thread-safe.
#ifndef MUWARDEN_COMMON_RUNTIME_BAN_WRITER_H_
#define MUWARDEN_COMMON_RUNTIME_BAN_WRITER_H_

#include <cstddef>
#include <deque>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/base/mutex.h"
#include "common/guard/ban_list.h"
#include "common/guard/ip_address.h"

namespace muwarden::runtime {

struct BanWriterConfig {
  std::string ban_file;  // for messages and compaction; empty = no file
  // Bans queued and not yet written; past it a ban is dropped (the IP stays
  // refused by the rate limit and is banned once the writer has caught up).
  size_t max_pending = 65536;
};

// The reason of a prefix ban (SPEC 6); its line is the prefix autoban event.
inline constexpr char kPrefixAutobanReason[] = "prefix autoban";

struct PendingBan {
  guard::Cidr cidr;
  absl::Duration duration;  // ZeroDuration() or InfiniteDuration() = permanent
  guard::IpAddress ip;      // the peer that earned it, for the log line
  std::string reason;
};

class BanWriter {
 public:
  BanWriter(BanWriterConfig config, guard::BanList& bans, Clock& clock);
  ~BanWriter();  // Stop()
  BanWriter(const BanWriter&) = delete;
  BanWriter& operator=(const BanWriter&) = delete;

  void Start();
  // Writes what is queued, then stops the thread. Idempotent.
  void Stop();

  // False when dropped: the queue is full, the block is already queued, or
  // the writer has stopped.
  bool Queue(PendingBan ban);

 private:
  void Loop();
  void Write(std::deque<PendingBan>::const_iterator begin,
             std::deque<PendingBan>::const_iterator end);
  void Compact(absl::Time& next_compaction, absl::Time& earliest_compaction);

  const BanWriterConfig config_;
  guard::BanList& bans_;
  Clock& clock_;
  std::thread thread_;

  Mutex mu_;
  std::deque<PendingBan> pending_ ABSL_GUARDED_BY(mu_);
  // Blocks queued but not yet durable, so a flood cannot queue the same block
  // twice.
  absl::flat_hash_set<std::string> pending_blocks_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  CondVar cv_;
};

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_BAN_WRITER_H_
