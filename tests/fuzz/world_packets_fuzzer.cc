// libFuzzer target for the world packet parsers (server/game/world_packets.h
// and the chat/logout/list parsers): arbitrary bytes as one decrypted packet.
// No parser may read out of bounds; a parser that accepts must have been given
// exactly its layout's length, and what it returns must stay in range.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "server/game/game_packets.h"
#include "server/game/walk.h"
#include "server/game/world_packets.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace muwarden::game;
  const absl::Span<const uint8_t> p(data, size);
  if (auto r = ParseCreate(p); r.ok()) {
    Check(size == 15 && r->name.size() <= kNameFieldSize);
  }
  if (auto r = ParseDelete(p); r.ok()) {
    Check(size == 24 || size == 34);
    Check(r->name.size() <= kNameFieldSize && r->security_code.size() <= 20);
  }
  if (auto r = ParseSelect(p); r.ok()) Check(size == 14 && r->size() <= 10);
  if (auto r = ParseWalk(p); r.ok()) {
    Check(r->directions.size() <= 15);
    Check(size == 6 + (r->directions.size() + 1) / 2);
    for (uint8_t d : r->directions) Check(d < 16);
    // Whatever it asks, a granted walk ends on the map and near its start.
    auto target = CheckWalk(*r, Point{r->x, r->y}, WalkLimits{15, 5});
    if (target.has_value()) {
      Check(TileDistance(*target, Point{r->x, r->y}) <=
            static_cast<int>(r->directions.size()));
    }
  }
  if (ParseInstantMove(p).ok()) Check(size == 5);
  if (ParseRotation(p).ok()) Check(size == 5);
  if (ParseQuestStateRequest(p).ok()) Check(size == 4);
  if (ParseLogout(p).ok()) Check(size == 5);
  if (ParseCharacterListRequest(p).ok()) Check(size == 5);
  if (auto r = ParseChat(p); r.ok()) {
    Check(r->message.size() <= kMaxChatMessageBytes);
    const auto out = BuildChat(r->kind, r->name, r->message);
    Check(out.size() <= 255 && out[1] == out.size());
  }
  return 0;
}
