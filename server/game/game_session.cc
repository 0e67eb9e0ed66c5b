#include "server/game/game_session.h"

#include <sodium.h>

#include <array>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/crypto/client_cipher.h"
#include "common/guard/security_log.h"
#include "common/protocol/frame.h"
#include "server/game/account/account_store.h"
#include "server/game/game_packets.h"
#include "server/game/join.h"

namespace muwarden::game {
namespace {

std::string HexByte(uint8_t b) {
  return absl::StrCat("0x", absl::Hex(b, absl::kZeroPad2));
}

}  // namespace

runtime::HandshakeConfig GameHandshake() {
  runtime::HandshakeConfig h;
  h.max_frame_size = 128;
  h.max_packets = 10;
  return h;
}

GameSession::GameSession(PlayerRegistry& registry, uint16_t player_id)
    : registry_(registry),
      player_id_(player_id),
      from_client_(crypto::kClientToServerKeys),
      to_client_(crypto::kServerToClientKeys),
      chat_window_(registry.config().chat),
      whisper_window_(registry.config().whisper) {}

absl::Status GameSession::OnOpen(runtime::Connection& conn) {
  // The join goes out before the connection has a worker (it waits for its
  // first byte without one), so the arena is taken at the first frame.
  auto join = BuildJoin(player_id_, registry_.config().join_version);
  return conn.Send(join);
}

bool GameSession::AllowedBeforeHandshake(const protocol::Frame& frame) const {
  // Login and ping are SimpleModulus-encrypted (C3); their codes are checked
  // once decrypted.
  return frame.header.type == protocol::kC3;
}

void GameSession::OnClose(runtime::Connection& conn) {
  if (slot_.held()) {
    LogInfo("game",
            absl::StrCat("left: ", slot_.name(), " from ", conn.peer_ip()));
  }
  slot_.Release();
}

absl::Status GameSession::OnFrame(runtime::Connection& conn,
                                  const protocol::Frame& frame) {
  if (buffer_.empty()) {
    buffer_ = conn.arena().Allocate(registry_.config().max_frame_size);
    if (buffer_.empty()) {
      return runtime::ArenaExhaustedError("no room for the decryption buffer");
    }
  }
  if (frame.bytes.size() > buffer_.size()) {
    // The assembler caps frames at max_frame_size, the size of buffer_.
    return absl::InternalError("frame larger than the decryption buffer");
  }
  absl::StatusOr<size_t> n =
      crypto::DecryptFromClient(frame.bytes, from_client_, buffer_);
  if (!n.ok()) {
    // A wrong counter (replayed, reordered or forged packet) is as malformed
    // as a bad checksum: both end in the "Malformed packet" line.
    if (absl::IsAborted(n.status()) || absl::IsOutOfRange(n.status())) {
      return absl::InvalidArgumentError(
          absl::StrCat("decrypt: ", n.status().message()));
    }
    return n.status();
  }
  const bool before_login = !slot_.held();
  absl::Status status =
      Dispatch(conn, buffer_.first(*n), frame.header.header_size);
  if (before_login) WipeLoginBytes(frame, *n);
  return status;
}

void GameSession::WipeLoginBytes(const protocol::Frame& frame,
                                 size_t decrypted) {
  // The decrypted login and its ciphertext (whose keys every client knows)
  // both carry the password. The frame lies in the connection's assembler
  // buffer, writable memory of its arena that the runtime hands out as const;
  // it is consumed once OnFrame runs, so clearing it changes nothing the
  // runtime still reads.
  sodium_memzero(buffer_.data(), decrypted);
  sodium_memzero(const_cast<uint8_t*>(frame.bytes.data()), frame.bytes.size());
}

absl::Status GameSession::Dispatch(runtime::Connection& conn,
                                   absl::Span<const uint8_t> plain,
                                   size_t header_size) {
  const uint8_t code = plain[header_size];
  const int sub = plain.size() > header_size + 1 ? plain[header_size + 1] : -1;
  if (!slot_.held()) {
    if (code == kCodeAccount && sub == kSubLogin) {
      return HandleLogin(conn, plain);
    }
    if (code == kCodePing) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("opcode ", HexByte(code), " before login"));
  }
  switch (code) {
    case kCodePing:
      // Keep-alive: the runtime's silence deadline was reset by the frame.
      return absl::OkStatus();
    case kCodeAccount:
      if (sub == kSubLogin) {
        return absl::FailedPreconditionError("login while logged in");
      }
      if (sub == kSubLogout) return HandleLogout(conn, plain);
      break;
    case kCodeCharacter:
      if (sub == kSubCharacterList) return HandleCharacterList(conn, plain);
      break;
    case kCodeChat:
    case kCodeWhisper:
      if (header_size == 2) return HandleChat(conn, plain);
      break;
    default:
      break;
  }
  // The rest of the game (moves, attacks, ...) is not served yet; a real
  // client sends such packets all the time, so they are dropped rather than
  // closing its connection. The raw packet window still bounds them.
  registry_.counters().frames_ignored.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::Status GameSession::Answer(runtime::Connection& conn,
                                 LoginAnswer answer) {
  return conn.Send(BuildLoginAnswer(answer));
}

absl::Status GameSession::HandleLogin(runtime::Connection& conn,
                                      absl::Span<const uint8_t> plain) {
  // The answer is due login_answer_timeout after the packet arrived.
  const absl::Time now = registry_.clock().Now();
  const absl::Time deadline = now + registry_.config().login_answer_timeout;
  absl::StatusOr<LoginRequest> request = ParseLogin(plain);
  if (!request.ok()) return request.status();
  GameCounters& counters = registry_.counters();

  // A connection accepted before its IP was banned must not keep guessing.
  if (registry_.IsBanned(conn.peer())) {
    counters.logins_while_banned.fetch_add(1, std::memory_order_relaxed);
    guard::LogSecurity(guard::SecurityEvent::kBannedIp, conn.peer(),
                       "at login");
    return absl::PermissionDeniedError("banned IP");
  }
  // The serial identifies a client build (real clients never change it), so
  // refusing one is how a bot build is banned. Nothing else can follow on
  // this connection.
  if (!registry_.AcceptsClient(request->version, request->serial)) {
    counters.logins_wrong_client.fetch_add(1, std::memory_order_relaxed);
    absl::Status sent = Answer(conn, LoginAnswer::kWrongVersion);
    if (!sent.ok()) return sent;
    return absl::PermissionDeniedError("client version or serial refused");
  }
  // A name no account can have says nothing about which accounts exist: 2.
  if (!ValidateAccountName(request->username).ok()) {
    return LoginFailed(conn, "", LoginAnswer::kAccountInvalid);
  }
  // Checked before the password so an attack costs no hashing. Unknown names
  // are tracked and locked alike, so 14 does not tell whether an account
  // exists either. A block the account logged in from before is spared the
  // locks: guessing from elsewhere cannot lock its owner out.
  const LoginGrouping& grouping = registry_.grouping();
  const std::string block = guard::ClientBlock(conn.peer()).ToString();
  const bool known = registry_.accounts().IsKnownBlock(
      request->username, block,
      registry_.clock().WallNow() - grouping.known_for);
  LoginThrottle& throttle = registry_.throttle();
  switch (throttle.Check(request->username, conn.peer(), known, now)) {
    case LoginLock::kAccount:
      counters.logins_locked.fetch_add(1, std::memory_order_relaxed);
      return Answer(conn, LoginAnswer::kTemporarilyBlocked);
    case LoginLock::kPrefix:
      counters.logins_prefix_locked.fetch_add(1, std::memory_order_relaxed);
      return Answer(conn, LoginAnswer::kTemporarilyBlocked);
    case LoginLock::kNone:
      break;
  }
  if (known && throttle.Check(request->username, conn.peer(), false, now) !=
                   LoginLock::kNone) {
    counters.logins_known_block.fetch_add(1, std::memory_order_relaxed);
  }
  // Cheap early answer; Enter below decides for real.
  if (registry_.Full()) {
    counters.logins_server_full.fetch_add(1, std::memory_order_relaxed);
    return Answer(conn, LoginAnswer::kServerFull);
  }

  // The check waits its prefix's turn; one that cannot be done in time is
  // answered 7 within the deadline.
  LoginCheck check;
  {
    HashGate::Slot turn = registry_.login_gate().Acquire(
        PrefixKeyOf(conn.peer(), grouping.prefixes), deadline);
    if (!turn.held()) {
      counters.logins_check_timeout.fetch_add(1, std::memory_order_relaxed);
      return Answer(conn, LoginAnswer::kConnectionError);
    }
    check = registry_.accounts().Verify(request->username,
                                        request->password.view());
  }
  request->password.Wipe();
  switch (check.result) {
    case LoginResult::kOk:
      break;
    case LoginResult::kNoSuchAccount:
    case LoginResult::kWrongPassword:
      // Both are answered 0 (not 2 for an unknown name): a different answer
      // would let anyone enumerate account names. Verify takes the same time
      // for both.
      return LoginFailed(conn, request->username,
                         LoginAnswer::kInvalidPassword);
    case LoginResult::kBlocked:
      counters.logins_blocked.fetch_add(1, std::memory_order_relaxed);
      return Answer(conn, LoginAnswer::kBlocked);
    case LoginResult::kTemporarilyBlocked:
      counters.logins_blocked.fetch_add(1, std::memory_order_relaxed);
      return Answer(conn, LoginAnswer::kTemporarilyBlocked);
    case LoginResult::kUnavailable:
      counters.logins_unavailable.fetch_add(1, std::memory_order_relaxed);
      LogWarn("game",
              absl::StrCat("account store unavailable for a login from ",
                           conn.peer_ip()));
      return Answer(conn, LoginAnswer::kConnectionError);
  }

  const std::string name =
      check.account.has_value() ? check.account->name : request->username;
  absl::StatusOr<PlayerRegistry::PlayerSlot> slot =
      registry_.Enter(name, conn.Outbound());
  if (!slot.ok()) {
    if (absl::IsAlreadyExists(slot.status())) {
      counters.logins_already_connected.fetch_add(1, std::memory_order_relaxed);
      return Answer(conn, LoginAnswer::kAlreadyConnected);
    }
    counters.logins_server_full.fetch_add(1, std::memory_order_relaxed);
    return Answer(conn, LoginAnswer::kServerFull);
  }
  slot_ = *std::move(slot);
  conn.CompleteHandshake();
  conn.MarkProtected();  // logged in: never evicted; the block becomes known
  counters.logins_ok.fetch_add(1, std::memory_order_relaxed);
  // The block is known from now on (and its last visit refreshed).
  registry_.accounts().RecordKnownBlock(
      name, block, registry_.clock().WallNow() - grouping.known_for);
  LogInfo("game", absl::StrCat("login: ", name, " from ", conn.peer_ip()));
  return Answer(conn, LoginAnswer::kOk);
}

absl::Status GameSession::LoginFailed(runtime::Connection& conn,
                                      absl::string_view name,
                                      LoginAnswer answer) {
  ++failed_logins_;
  GameCounters& counters = registry_.counters();
  counters.logins_failed.fetch_add(1, std::memory_order_relaxed);
  const LoginFailureVerdict verdict = registry_.throttle().RecordFailure(
      conn.peer(), name, registry_.clock().Now());
  std::string details = name.empty() ? std::string("invalid account name")
                                     : absl::StrCat("account ", name);
  if (verdict.account_locked) {
    counters.accounts_locked.fetch_add(1, std::memory_order_relaxed);
    absl::StrAppend(&details, " locked");
  }
  if (verdict.prefix_locked) {
    counters.prefixes_locked.fetch_add(1, std::memory_order_relaxed);
    absl::StrAppend(&details, "; prefix locked");
  }
  if (verdict.ban_ip) {
    // Durable before the line that announces it (fail2ban may act on it).
    absl::StrAppend(&details, "; ",
                    registry_.BanIp(conn.peer(), "failed logins"));
  }
  guard::LogSecurity(guard::SecurityEvent::kLoginFailed, conn.peer(), details);
  const bool last = failed_logins_ >= kMaxFailedLoginsPerConnection;
  absl::Status sent =
      Answer(conn, last ? LoginAnswer::kTooManyFailures : answer);
  if (!sent.ok()) return sent;
  if (last) return absl::CancelledError("too many failed logins");
  if (verdict.ban_ip) return absl::PermissionDeniedError("IP banned");
  return absl::OkStatus();
}

absl::Status GameSession::HandleLogout(runtime::Connection& conn,
                                       absl::Span<const uint8_t> plain) {
  absl::StatusOr<uint8_t> type = ParseLogout(plain);
  if (!type.ok()) return type.status();
  // Server to client C3 packets are SimpleModulus only (no Xor32), with this
  // connection's server-to-client counter.
  const std::array<uint8_t, 5> answer = BuildLogoutAnswer(*type);
  std::array<uint8_t, 13> wire{};
  static_assert(sizeof(wire) == 2 + crypto::kSimpleModulusEncryptedBlockSize);
  absl::StatusOr<size_t> n = to_client_.Encrypt(answer, absl::MakeSpan(wire));
  if (!n.ok()) return absl::InternalError(n.status().message());
  absl::Status sent = conn.Send(absl::MakeConstSpan(wire.data(), *n));
  if (!sent.ok()) return sent;
  if (*type == kLogoutCharacterSelect) return absl::OkStatus();
  // Closing the game or going back to server select leaves this server: the
  // player slot is freed now, and the connection ends.
  LogInfo("game",
          absl::StrCat("logout: ", slot_.name(), " from ", conn.peer_ip()));
  slot_.Release();
  return absl::CancelledError("logout");
}

absl::Status GameSession::HandleCharacterList(runtime::Connection& conn,
                                              absl::Span<const uint8_t> plain) {
  absl::StatusOr<uint8_t> language = ParseCharacterListRequest(plain);
  if (!language.ok()) return language.status();
  // Characters do not exist yet: every account has an empty list.
  return conn.Send(BuildEmptyCharacterList());
}

absl::Status GameSession::HandleChat(runtime::Connection& conn,
                                     absl::Span<const uint8_t> plain) {
  absl::StatusOr<ChatRequest> chat = ParseChat(plain);
  if (!chat.ok()) return chat.status();
  if (chat->message.empty()) return absl::OkStatus();
  GameCounters& counters = registry_.counters();
  if (chat->truncated) {
    counters.chat_truncated.fetch_add(1, std::memory_order_relaxed);
  }
  const absl::Time now = conn.clock().Now();
  // The sender's name is the logged-in one, never the name field the client
  // filled in, so nobody can speak as someone else.
  if (chat->kind == ChatKind::kPublic) {
    if (!chat_window_.TryAcquire(now)) {
      counters.chat_rate_dropped.fetch_add(1, std::memory_order_relaxed);
      return absl::OkStatus();
    }
    registry_.Broadcast(
        slot_, BuildChat(ChatKind::kPublic, slot_.name(), chat->message));
    return absl::OkStatus();
  }
  if (!whisper_window_.TryAcquire(now)) {
    counters.whisper_rate_dropped.fetch_add(1, std::memory_order_relaxed);
    return absl::OkStatus();
  }
  registry_.SendTo(chat->name,
                   BuildChat(ChatKind::kWhisper, slot_.name(), chat->message));
  return absl::OkStatus();
}

}  // namespace muwarden::game
