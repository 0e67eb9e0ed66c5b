// Metrics: Prometheus text at /metrics (SPEC section 12) served by civetweb
// (the HTTP server prometheus-cpp's pull part embeds) on its own threads,
// never on the accept or worker path, and written by prometheus-cpp's
// TextSerializer. Nothing is counted for it: at scrape time a Collectable
// reads the counters the server keeps anyway (atomics, a brief lock for the
// table sizes) and adds `server="<name>"` to every series. prometheus-cpp's
// Exposer is not used: it adds exposer_* series of its own, which cannot carry
// that label. Requests are bounded (GET only, a header cap, a deadline, no
// keep-alive) so a slow or oversized scrape only costs the metrics threads.
// Thread-safe.
#ifndef MUWARDEN_COMMON_OPS_METRICS_H_
#define MUWARDEN_COMMON_OPS_METRICS_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ops/ops_config.h"
#include "common/runtime/server.h"

class CivetServer;

namespace muwarden::ops {

// One series of a family: its labels (besides `server`) and value.
struct Sample {
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

struct Family {
  enum class Type { kCounter, kGauge };
  std::string name;  // "muwarden_connections_admitted_total"
  std::string help;
  Type type = Type::kCounter;
  std::vector<Sample> samples;
};

// Called at scrape time on a metrics thread; must only read.
using FamilySource = std::function<std::vector<Family>()>;

// The series of SPEC section 12 that every server has, read from `server`.
std::vector<Family> ServerFamilies(const runtime::Server& server);

class MetricsExporter {
 public:
  // Listens on config.listen and serves `sources` with `server="<name>"` on
  // every series. kInvalidArgument for a bad address, kUnavailable when it
  // cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsExporter>> Start(
      const MetricsConfig& config, std::string server_name,
      std::vector<FamilySource> sources);
  ~MetricsExporter();  // stops serving; waits for a scrape in progress

  // The port bound (the one chosen when listen says port 0).
  int port() const { return port_; }

 private:
  MetricsExporter() = default;

  std::shared_ptr<class MetricsCollectable> collectable_;
  std::unique_ptr<class ScrapeHandler> handler_;
  std::unique_ptr<CivetServer> http_;
  int port_ = 0;
};

}  // namespace muwarden::ops

#endif  // MUWARDEN_COMMON_OPS_METRICS_H_
