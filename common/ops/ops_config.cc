#include "common/ops/ops_config.h"

#include <arpa/inet.h>
#include <sys/un.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace muwarden::ops {

bool SplitListenAddress(absl::string_view v, std::string* host, int* port) {
  const size_t colon = v.rfind(':');
  if (colon == absl::string_view::npos) return false;
  absl::string_view h = v.substr(0, colon);
  if (!absl::SimpleAtoi(v.substr(colon + 1), port) || *port < 0 ||
      *port > 65535) {
    return false;
  }
  unsigned char buf[16];
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') {
    *host = std::string(h.substr(1, h.size() - 2));
    return inet_pton(AF_INET6, host->c_str(), buf) == 1;
  }
  *host = std::string(h);
  return inet_pton(AF_INET, host->c_str(), buf) == 1;
}

absl::Status CheckListenAddress(absl::string_view value) {
  if (value.empty()) return absl::OkStatus();
  std::string host;
  int port = 0;
  if (SplitListenAddress(value, &host, &port)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("not HOST:PORT with an IP address: '", value,
                   "' (e.g. 127.0.0.1:9405, [::1]:9405; empty = off)"));
}

void MetricsConfig::Describe(config::Schema& s) {
  s.String("metrics", "listen", &listen,
           "Prometheus /metrics endpoint, HOST:PORT (keep it on loopback or a "
           "private network); empty = off",
           CheckListenAddress);
}

void ControlConfig::Describe(config::Schema& s) {
  s.Path("control", "socket", &socket,
         "Unix socket (mode 0600) for muwarden-ctl; empty = off", default_name,
         [](absl::string_view v) {
           if (v.size() >= sizeof(sockaddr_un::sun_path)) {
             return absl::InvalidArgumentError(
                 absl::StrCat("longer than ", sizeof(sockaddr_un::sun_path) - 1,
                              " bytes (a Unix socket path limit)"));
           }
           return absl::OkStatus();
         });
}

}  // namespace muwarden::ops
