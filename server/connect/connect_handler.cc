#include "server/connect/connect_handler.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/protocol/frame.h"

namespace muwarden::connect {
namespace {

constexpr uint8_t kCodeServer = 0xF4;
constexpr uint8_t kSubList = 0x06;
constexpr uint8_t kSubListOld = 0x02;
constexpr uint8_t kSubInfo = 0x03;
constexpr uint8_t kCodePatch = 0x05;
constexpr uint8_t kCodePatchAlt = 0x02;
constexpr size_t kInfoHostBytes = 16;

std::vector<GameServerEntry> SortedById(
    const std::vector<GameServerEntry>& servers) {
  std::vector<GameServerEntry> sorted = servers;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  return sorted;
}

// Code and body of a plain (C1/C2) frame; empty code span for anything else.
struct Request {
  uint8_t code = 0;
  absl::Span<const uint8_t> body;  // after the code byte
  bool plain = false;
};

Request Parse(absl::Span<const uint8_t> frame) {
  Request r;
  if (frame.empty()) return r;
  const size_t h = protocol::HeaderSizeOf(frame[0]);
  if (h == 0 || frame.size() < h + 1) return r;
  r.plain = frame[0] == protocol::kC1 || frame[0] == protocol::kC2;
  r.code = frame[h];
  r.body = frame.subspan(h + 1);
  return r;
}

// C2 <length: 2, big-endian> <kCodeServer> <sub>, with room for `length`
// bytes; the caller appends the rest.
Packet StartServerC2(size_t length, uint8_t sub) {
  Packet p;
  p.reserve(length);
  p.push_back(protocol::kC2);
  p.push_back(static_cast<uint8_t>(length >> 8));
  p.push_back(static_cast<uint8_t>(length & 0xFF));
  p.push_back(kCodeServer);
  p.push_back(sub);
  return p;
}

}  // namespace

Packet BuildHello() { return {0xC1, 0x04, 0x00, 0x01}; }

Packet BuildServerList(const std::vector<GameServerEntry>& servers) {
  const auto sorted = SortedById(servers);
  const size_t length = 7 + 4 * sorted.size();
  Packet p = StartServerC2(length, kSubList);
  p.push_back(static_cast<uint8_t>(sorted.size() >> 8));
  p.push_back(static_cast<uint8_t>(sorted.size() & 0xFF));
  for (const auto& s : sorted) {
    p.push_back(static_cast<uint8_t>(s.id & 0xFF));
    p.push_back(static_cast<uint8_t>((s.id >> 8) & 0xFF));
    p.push_back(static_cast<uint8_t>(s.load));
    p.push_back(0x00);
  }
  return p;
}

Packet BuildServerListOld(const std::vector<GameServerEntry>& servers) {
  std::vector<GameServerEntry> fitting;
  for (const auto& s : SortedById(servers)) {
    if (s.id <= 0xFF) fitting.push_back(s);
  }
  const size_t length = 6 + 2 * fitting.size();
  Packet p = StartServerC2(length, kSubListOld);
  p.push_back(static_cast<uint8_t>(fitting.size()));
  for (const auto& s : fitting) {
    p.push_back(static_cast<uint8_t>(s.id));
    p.push_back(static_cast<uint8_t>(s.load));
  }
  return p;
}

Packet BuildServerInfo(const GameServerEntry& server) {
  Packet p(22, 0);
  p[0] = protocol::kC1;
  p[1] = 0x16;
  p[2] = kCodeServer;
  p[3] = kSubInfo;
  // Settings cap the host at 15 characters, so the field always ends in a zero
  // byte.
  const size_t n = std::min(server.host.size(), kInfoHostBytes - 1);
  std::memcpy(p.data() + 4, server.host.data(), n);
  p[20] = static_cast<uint8_t>(server.port & 0xFF);
  p[21] = static_cast<uint8_t>((server.port >> 8) & 0xFF);
  return p;
}

Packet BuildPatchOk() { return {0xC1, 0x04, 0x02, 0x00}; }

bool IsConnectRequest(absl::Span<const uint8_t> frame) {
  const Request r = Parse(frame);
  if (!r.plain) return false;
  if (r.code == kCodeServer) {
    return !r.body.empty() &&
           (r.body[0] == kSubList || r.body[0] == kSubListOld ||
            r.body[0] == kSubInfo);
  }
  return r.code == kCodePatch || r.code == kCodePatchAlt;
}

ConnectHandler::ConnectHandler(const std::vector<GameServerEntry>& servers,
                               ConnectLimits limits)
    : servers_(servers), limits_(limits) {}

absl::StatusOr<std::vector<Packet>> ConnectHandler::Handle(
    absl::Span<const uint8_t> frame) {
  const Request r = Parse(frame);
  if (!r.plain) {
    return absl::InvalidArgumentError(
        "ConnectServer requests are never encrypted");
  }
  if (r.code == kCodeServer && !r.body.empty()) {
    const uint8_t sub = r.body[0];
    const auto args = r.body.subspan(1);
    if (sub == kSubList || sub == kSubListOld) {
      if (!args.empty()) {
        return absl::InvalidArgumentError("server list request with a body");
      }
      if (++list_requests_ > limits_.max_list_requests) {
        return absl::ResourceExhaustedError("server list request cap reached");
      }
      return std::vector<Packet>{sub == kSubList
                                     ? BuildServerList(servers_)
                                     : BuildServerListOld(servers_)};
    }
    if (sub == kSubInfo) {
      int id;
      if (args.size() == 2) {
        id = args[0] | (args[1] << 8);
      } else if (args.size() == 1) {
        id = args[0];
      } else {
        return absl::InvalidArgumentError(
            "server info request of a wrong length");
      }
      if (++info_requests_ > limits_.max_info_requests) {
        return absl::ResourceExhaustedError("server info request cap reached");
      }
      for (const auto& s : servers_) {
        if (s.id == id) {
          served_server_info_ = true;
          return std::vector<Packet>{BuildServerInfo(s), BuildHello()};
        }
      }
      return std::vector<Packet>{BuildServerList(servers_)};
    }
  }
  if (r.code == kCodePatch || r.code == kCodePatchAlt) {
    if (r.body.size() != 3) {
      return absl::InvalidArgumentError("patch check of a wrong length");
    }
    if (++patch_checks_ > limits_.max_patch_checks) {
      return absl::ResourceExhaustedError("patch check cap reached");
    }
    return std::vector<Packet>{BuildPatchOk()};
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown ConnectServer code 0x", absl::Hex(r.code, absl::kZeroPad2)));
}

}  // namespace muwarden::connect
