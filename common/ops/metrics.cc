#include "common/ops/metrics.h"

#include <civetweb.h>

#include <CivetServer.h>
#include <cstring>
#include <exception>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/config/command_line.h"
#include "common/guard/reject_reason.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "prometheus/text_serializer.h"

namespace muwarden::ops {
namespace {

// A scrape request is one line and a few headers; anything longer is not
// Prometheus.
constexpr char kMaxRequestBytes[] = "4096";
// Total time for one request: a slowloris holds a metrics thread this long
// at most.
constexpr char kRequestTimeoutMs[] = "2000";
// Metrics threads: a scrape and one stuck client at a time; a third waits in
// civetweb's queue.
constexpr char kThreads[] = "2";

// Only GET is served (and only /metrics has a handler: 404 elsewhere);
// anything else is answered 405 before a handler runs.
int OnlyGet(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  if (info != nullptr && info->request_method != nullptr &&
      std::strcmp(info->request_method, "GET") == 0) {
    return 0;
  }
  mg_send_http_error(conn, 405, "%s", "only GET /metrics\n");
  return 405;
}

Family Counter(std::string name, std::string help) {
  return {std::move(name), std::move(help), Family::Type::kCounter, {}};
}
Family Gauge(std::string name, std::string help) {
  return {std::move(name), std::move(help), Family::Type::kGauge, {}};
}
double D(uint64_t v) { return static_cast<double>(v); }

}  // namespace

// Reads every source at scrape time; holds no state of its own.
class MetricsCollectable final : public prometheus::Collectable {
 public:
  MetricsCollectable(std::string server_name, std::vector<FamilySource> sources)
      : server_name_(std::move(server_name)), sources_(std::move(sources)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    for (const FamilySource& source : sources_) {
      for (Family& family : source()) {
        prometheus::MetricFamily f;
        f.name = std::move(family.name);
        f.help = std::move(family.help);
        f.type = family.type == Family::Type::kCounter
                     ? prometheus::MetricType::Counter
                     : prometheus::MetricType::Gauge;
        for (Sample& sample : family.samples) {
          prometheus::ClientMetric m;
          m.label.push_back({"server", server_name_});
          for (auto& [name, value] : sample.labels) {
            m.label.push_back({std::move(name), std::move(value)});
          }
          if (family.type == Family::Type::kCounter) {
            m.counter.value = sample.value;
          } else {
            m.gauge.value = sample.value;
          }
          f.metric.push_back(std::move(m));
        }
        out.push_back(std::move(f));
      }
    }
    return out;
  }

 private:
  const std::string server_name_;
  const std::vector<FamilySource> sources_;
};

std::vector<Family> ServerFamilies(const runtime::Server& server) {
  const guard::ConnGuardCounters g = server.guard().Counters();
  const runtime::WorkerCounters& w = server.counters();
  constexpr auto r = std::memory_order_relaxed;
  std::vector<Family> out;

  Family admitted = Counter("muwarden_connections_admitted_total",
                            "connections that passed Layer 1");
  admitted.samples.push_back({{}, D(g.admitted)});
  out.push_back(std::move(admitted));

  Family refused = Counter("muwarden_connections_refused_total",
                           "connections refused at accept, by reason");
  for (size_t i = 1; i < guard::kRejectReasonCount; ++i) {
    const auto reason = static_cast<guard::RejectReason>(i);
    refused.samples.push_back(
        {{{"reason", std::string(guard::RejectReasonName(reason))}},
         D(g.Rejected(reason))});
  }
  out.push_back(std::move(refused));

  Family evicted = Counter("muwarden_connections_evicted_total",
                           "pending connections closed for a newcomer");
  evicted.samples.push_back({{}, D(server.connections_evicted())});
  out.push_back(std::move(evicted));

  // Live sockets hold a guard ticket; those past the handshake are active.
  const int64_t established = w.connections_established.load(r);
  const int64_t pending = g.active > established ? g.active - established : 0;
  Family conns = Gauge("muwarden_connections",
                       "live connections: pending = handshake not complete");
  conns.samples.push_back({{{"state", "pending"}}, static_cast<double>(pending)});
  conns.samples.push_back(
      {{{"state", "active"}}, static_cast<double>(established)});
  out.push_back(std::move(conns));

  Family known = Gauge("muwarden_known_blocks",
                       "client blocks known from earlier good visits");
  known.samples.push_back({{}, D(server.known_blocks())});
  out.push_back(std::move(known));

  Family frames = Counter("muwarden_frames_refused_total",
                          "frames that closed their connection, by reason");
  frames.samples.push_back(
      {{{"reason", "oversize"}}, D(w.frames_rejected_oversize.load(r))});
  // The malformed counter includes the opcode refusals; the series are
  // disjoint.
  const uint64_t opcode = w.frames_rejected_opcode.load(r);
  const uint64_t malformed = w.frames_rejected_malformed.load(r);
  frames.samples.push_back(
      {{{"reason", "malformed"}}, D(malformed > opcode ? malformed - opcode : 0)});
  frames.samples.push_back({{{"reason", "opcode"}}, D(opcode)});
  out.push_back(std::move(frames));

  Family rate = Counter("muwarden_packet_rate_exceeded_total",
                        "connections closed for the raw packet rate");
  rate.samples.push_back({{}, D(w.packet_rate_exceeded.load(r))});
  out.push_back(std::move(rate));

  Family timeouts = Counter("muwarden_timeouts_total",
                            "connections closed by a deadline, by kind");
  timeouts.samples.push_back(
      {{{"kind", "handshake"}}, D(w.handshake_timeouts.load(r))});
  timeouts.samples.push_back({{{"kind", "read"}}, D(w.read_timeouts.load(r))});
  timeouts.samples.push_back(
      {{{"kind", "write"}}, D(w.write_timeouts.load(r))});
  out.push_back(std::move(timeouts));

  Family bans = Gauge("muwarden_bans", "ban list entries held");
  bans.samples.push_back({{}, D(server.ban_count())});
  out.push_back(std::move(bans));

  const size_t busy = server.pool().busy();
  const size_t threads = server.pool().threads();
  Family workers = Gauge("muwarden_workers", "worker threads by state");
  workers.samples.push_back({{{"state", "busy"}}, D(busy)});
  workers.samples.push_back(
      {{{"state", "idle"}}, D(threads > busy ? threads - busy : 0)});
  out.push_back(std::move(workers));

  Family build = Gauge("muwarden_build_info", "always 1; the version label");
  build.samples.push_back({{{"version", config::kVersion}}, 1});
  out.push_back(std::move(build));
  return out;
}

// GET /metrics: the families in the text exposition format, in one response
// with its length (no chunking, no compression: a scrape is a few KiB).
class ScrapeHandler final : public CivetHandler {
 public:
  explicit ScrapeHandler(std::shared_ptr<MetricsCollectable> collectable)
      : collectable_(std::move(collectable)) {}

  bool handleGet(CivetServer* /*server*/, mg_connection* conn) override {
    const std::string body =
        prometheus::TextSerializer().Serialize(collectable_->Collect());
    mg_printf(conn,
              "HTTP/1.1 200 OK\r\n"
              "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
              "Content-Length: %zu\r\n"
              "Connection: close\r\n\r\n",
              body.size());
    mg_write(conn, body.data(), body.size());
    return true;
  }

 private:
  const std::shared_ptr<MetricsCollectable> collectable_;
};

absl::StatusOr<std::unique_ptr<MetricsExporter>> MetricsExporter::Start(
    const MetricsConfig& config, std::string server_name,
    std::vector<FamilySource> sources) {
  std::string host;
  int port = 0;
  if (!SplitListenAddress(config.listen, &host, &port)) {
    return CheckListenAddress(config.listen.empty() ? "-" : config.listen);
  }
  static const CivetCallbacks kCallbacks = [] {
    CivetCallbacks c;  // its constructor clears every callback
    c.begin_request = OnlyGet;
    return c;
  }();
  const std::string where =
      host.find(':') != std::string::npos ? absl::StrCat("[", host, "]:", port)
                                          : absl::StrCat(host, ":", port);
  const std::vector<std::string> options = {
      "listening_ports",    where,
      "num_threads",        kThreads,
      "request_timeout_ms", kRequestTimeoutMs,
      "max_request_size",   kMaxRequestBytes,
      "enable_keep_alive",  "no",
  };
  std::unique_ptr<MetricsExporter> exporter(new MetricsExporter());
  exporter->collectable_ = std::make_shared<MetricsCollectable>(
      std::move(server_name), std::move(sources));
  exporter->handler_ = std::make_unique<ScrapeHandler>(exporter->collectable_);
  try {
    exporter->http_ = std::make_unique<CivetServer>(options, &kCallbacks);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("metrics: cannot listen on ", config.listen, ": ",
                     e.what()));
  }
  exporter->http_->addHandler("/metrics", exporter->handler_.get());
  const std::vector<int> ports = exporter->http_->getListeningPorts();
  exporter->port_ = ports.empty() ? port : ports.front();
  return exporter;
}

MetricsExporter::~MetricsExporter() {
  // The server (its threads) stops before the handler it calls is freed.
  if (http_ != nullptr) http_->close();
}

}  // namespace muwarden::ops
